//! The env file (`--env-file`, default `/tmp/.env`): dotenv syntax, re-read before every start.
//!
//! Supported syntax, one assignment per line (see `docs/live-restart.md`):
//!
//! - `KEY=value` and `export KEY=value`; spaces around `KEY` and after `=` are allowed.
//!   `KEY` is `[A-Za-z_][A-Za-z0-9_.-]*`.
//! - Blank lines and lines whose first non-blank character is `#` are skipped.
//! - Unquoted values run to the end of the line; a `#` preceded by a space or tab starts a comment;
//!   trailing blanks are trimmed. `KEY=` is the empty string. No `${VAR}` expansion: `$` is literal.
//! - `'single quotes'`: everything up to the next `'` is literal (no escapes), may span lines.
//! - `"double quotes"`: `\n` `\r` `\t` `\"` `\\` `\$` are decoded, any other backslash is kept;
//!   real line breaks inside the quotes are kept (multi-line values).
//!   After a closing quote only blanks and a `# comment` may follow.
//! - CRLF line ends and a leading UTF-8 byte-order mark are accepted.
//! - A key given twice keeps its first position and its last value.
//!
//! Anything else (a line without `=`, a bad key, an unterminated quote, text after a closing quote,
//! a NUL byte, invalid UTF-8) is an [`EnvError`] naming the 1-based line.

use std::fmt;
use std::path::{Path, PathBuf};

/// A malformed env file or an unreadable one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvError {
    /// The file, when the text came from one.
    pub path: Option<PathBuf>,
    /// 1-based line number of the problem; 0 when it concerns the whole file (I/O).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl EnvError {
    fn at(line: usize, message: impl Into<String>) -> EnvError {
        EnvError {
            path: None,
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for EnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.path {
            write!(f, "{}", p.display())?;
            if self.line > 0 {
                write!(f, ":{}", self.line)?;
            }
            return write!(f, ": {}", self.message);
        }
        if self.line > 0 {
            write!(f, "line {}: ", self.line)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for EnvError {}

/// This process's environment without respawn's own `RESPAWN_*` variables: what the command
/// (and a probe's `--exec` check) inherits.
pub fn inherited() -> Vec<(std::ffi::OsString, std::ffi::OsString)> {
    std::env::vars_os()
        .filter(|(k, _)| !k.to_string_lossy().starts_with("RESPAWN_"))
        .collect()
}

/// Reads and parses an env file. `Ok(None)` when it does not exist; any other I/O error is an error.
pub fn load_env_file(path: &Path) -> Result<Option<Vec<(String, String)>>, EnvError> {
    let with_path = |mut e: EnvError| {
        e.path = Some(path.to_path_buf());
        e
    };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(with_path(EnvError::at(0, format!("cannot read: {e}")))),
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            return Err(with_path(EnvError::at(line, "invalid UTF-8")));
        }
    };
    parse_dotenv(&text).map(Some).map_err(with_path)
}

/// Parses dotenv text into `(key, value)` pairs in file order (see the module docs for the syntax).
pub fn parse_dotenv(text: &str) -> Result<Vec<(String, String)>, EnvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut p = Parser { rest: text, line: 1 };
    let mut out: Vec<(String, String)> = Vec::new();
    while !p.rest.is_empty() {
        let start_line = p.line;
        let Some((key, value)) = p.entry()? else { continue };
        if value.contains('\0') {
            return Err(EnvError::at(
                start_line,
                format!("value of {key} contains a NUL byte"),
            ));
        }
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => out.push((key, value)),
        }
    }
    Ok(out)
}

/// A cursor over the text that counts lines as it consumes them.
struct Parser<'a> {
    rest: &'a str,
    line: usize,
}

impl<'a> Parser<'a> {
    /// Takes the rest of the current line (without its line end) and moves to the next line.
    fn take_line(&mut self) -> &'a str {
        let (line, rest) = match self.rest.find('\n') {
            Some(i) => (&self.rest[..i], &self.rest[i + 1..]),
            None => (self.rest, ""),
        };
        self.rest = rest;
        self.line += 1;
        line.strip_suffix('\r').unwrap_or(line)
    }

    /// Parses one line (or one multi-line quoted entry); `None` for blank and comment lines.
    fn entry(&mut self) -> Result<Option<(String, String)>, EnvError> {
        let line_no = self.line;
        let err = |m: String| Err(EnvError::at(line_no, m));
        let trimmed = self.rest.trim_start_matches([' ', '\t']);
        if trimmed.starts_with('#') || first_line(trimmed).trim().is_empty() {
            self.take_line();
            return Ok(None);
        }
        let mut s = trimmed;
        if let Some(after) = s.strip_prefix("export")
            && after.starts_with([' ', '\t'])
        {
            s = after.trim_start_matches([' ', '\t']);
        }
        let key_len = s
            .find(|c: char| !(c.is_ascii_alphanumeric() || "_.-".contains(c)))
            .unwrap_or(s.len());
        let key = &s[..key_len];
        let after_key = s[key_len..].trim_start_matches([' ', '\t']);
        if !after_key.starts_with('=') {
            let shown = first_line(trimmed);
            return if key.is_empty() || after_key.starts_with(['\n', '\r']) || after_key.is_empty() {
                err(format!("expected KEY=value, found {shown:?}"))
            } else {
                err(format!(
                    "invalid character in key, expected KEY=value, found {shown:?}"
                ))
            };
        }
        if key.is_empty() {
            return err("missing key before '='".into());
        }
        if key.starts_with(|c: char| c.is_ascii_digit() || c == '.' || c == '-') {
            return err(format!("invalid key {key:?}: must start with a letter or '_'"));
        }
        let key = key.to_string();
        let after_eq = &after_key[1..];
        self.rest = after_eq.trim_start_matches([' ', '\t']);
        let value = match self.rest.chars().next() {
            Some(q @ ('\'' | '"')) => self.quoted(q, line_no)?,
            // `KEY= # comment`: blanks then `#` is a comment, `KEY=#x` is the value "#x".
            Some('#') if after_eq.len() != self.rest.len() => {
                self.take_line();
                String::new()
            }
            _ => unquoted(self.take_line()),
        };
        Ok(Some((key, value)))
    }

    /// Parses a quoted value starting at the opening quote, then the rest of its last line.
    fn quoted(&mut self, quote: char, open_line: usize) -> Result<String, EnvError> {
        let body = &self.rest[1..];
        let mut value = String::new();
        let mut chars = body.char_indices();
        let end = loop {
            let Some((i, c)) = chars.next() else {
                return Err(EnvError::at(open_line, format!("unterminated {quote} quote")));
            };
            match c {
                c if c == quote => break i,
                '\\' if quote == '"' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, 'r')) => value.push('\r'),
                    Some((_, 't')) => value.push('\t'),
                    Some((_, e @ ('"' | '\\' | '$'))) => value.push(e),
                    Some((_, other)) => {
                        value.push('\\');
                        value.push(other);
                    }
                    None => return Err(EnvError::at(open_line, "unterminated \" quote")),
                },
                // A CRLF file: keep only "\n" inside multi-line values.
                '\r' if body[i + 1..].starts_with('\n') => {}
                c => value.push(c),
            }
        };
        // Count the line breaks consumed inside the quotes, then check the tail of the closing line.
        self.line += body[..end].matches('\n').count();
        self.rest = &body[end + 1..];
        let close_line = self.line;
        let tail = self.take_line().trim_matches([' ', '\t']);
        if !tail.is_empty() && !tail.starts_with('#') {
            return Err(EnvError::at(
                close_line,
                format!("unexpected {tail:?} after closing {quote} quote"),
            ));
        }
        Ok(value)
    }
}

/// An unquoted value: cut at ` #` / `\t#`, trim trailing blanks.
fn unquoted(line: &str) -> String {
    let mut end = line.len();
    let bytes = line.as_bytes();
    for i in 1..bytes.len() {
        if bytes[i] == b'#' && (bytes[i - 1] == b' ' || bytes[i - 1] == b'\t') {
            end = i;
            break;
        }
    }
    line[..end].trim_end_matches([' ', '\t']).to_string()
}

fn first_line(s: &str) -> &str {
    let l = s.split('\n').next().unwrap_or("");
    l.strip_suffix('\r').unwrap_or(l)
}

#[cfg(test)]
mod tests;
