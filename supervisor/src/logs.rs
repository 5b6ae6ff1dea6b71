//! Log framing for `--log-format prefix|json`: the child's stdout/stderr bytes become whole lines
//! tagged with the generation and the stream.
//!
//! - `inherit` (default): the child writes straight to the supervisor's stdout/stderr; no [`Framer`]
//!   is involved (zero copy). A `Framer` in this mode passes bytes through unchanged.
//! - `prefix`: `[gen 3 stdout] text\n`. Bytes are kept as they are (invalid UTF-8 included).
//! - `json`: `{"gen":3,"stream":"stdout","line":"text"}\n`, one object per line. Invalid UTF-8 is
//!   replaced by U+FFFD; `"` `\` and control characters are escaped.
//!
//! A line ends at `\n`; a `\r` right before it is dropped (CRLF → LF). A line longer than
//! [`MAX_LINE`] bytes is emitted in pieces of at most `MAX_LINE` bytes (cut before a UTF-8 sequence
//! when possible); every piece but the last is marked partial (`[gen 3 stdout partial] …` /
//! `"partial":true`), so memory stays bounded whatever the child writes. A partial last line is
//! held until more bytes come, until [`Framer::finish`], or until bytes of a later generation arrive,
//! so no line is lost or mixed across restarts.

use std::fmt;
// Writing to a Vec<u8> cannot fail.
use std::io::Write as _;
use std::str::FromStr;

/// The longest line buffered before it is emitted in pieces (same order as Docker's 16 KiB).
pub const MAX_LINE: usize = 16 * 1024;

/// How the child's output reaches the supervisor's stdout/stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// The child inherits the file descriptors (no framing, zero copy).
    #[default]
    Inherit,
    /// `[gen N stream] line`.
    Prefix,
    /// One JSON object per line: `gen`, `stream`, `line` (and `partial` for pieces of long lines).
    Json,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "inherit" => Ok(LogFormat::Inherit),
            "prefix" => Ok(LogFormat::Prefix),
            "json" => Ok(LogFormat::Json),
            other => Err(format!(
                "unknown log format {other:?} (expected inherit, prefix or json)"
            )),
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogFormat::Inherit => "inherit",
            LogFormat::Prefix => "prefix",
            LogFormat::Json => "json",
        })
    }
}

/// Which of the child's output streams the bytes came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// The child's fd 1.
    Stdout,
    /// The child's fd 2.
    Stderr,
}

impl Stream {
    /// `"stdout"` or `"stderr"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// Turns one stream's bytes into framed lines; one `Framer` per stream, kept across generations.
#[derive(Debug)]
pub struct Framer {
    stream: Stream,
    format: LogFormat,
    /// Bytes of the unfinished line, at most `MAX_LINE`.
    pending: Vec<u8>,
    /// The generation that wrote `pending`.
    pending_gen: u64,
}

impl Framer {
    /// A framer for `stream` in `format`.
    pub fn new(stream: Stream, format: LogFormat) -> Framer {
        Framer {
            stream,
            format,
            pending: Vec::new(),
            pending_gen: 0,
        }
    }

    /// Appends every complete framed line in `bytes` (written by `generation`) to `out`; keeps the
    /// unfinished rest. Bytes of a new generation first flush the previous generation's partial line.
    pub fn push(&mut self, generation: u64, bytes: &[u8], out: &mut Vec<u8>) {
        if self.format == LogFormat::Inherit {
            out.extend_from_slice(bytes);
            return;
        }
        if !self.pending.is_empty() && self.pending_gen != generation {
            let g = self.pending_gen;
            self.finish(g, out);
        }
        self.pending_gen = generation;
        let mut rest = bytes;
        while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            let (line, after) = (&rest[..nl], &rest[nl + 1..]);
            if self.pending.is_empty() && line.len() <= MAX_LINE {
                self.emit(generation, strip_cr(line), false, out);
            } else {
                self.fill(generation, line, out);
                let whole = std::mem::take(&mut self.pending);
                self.emit(generation, strip_cr(&whole), false, out);
                self.pending = whole;
                self.pending.clear();
            }
            rest = after;
        }
        self.fill(generation, rest, out);
    }

    /// Flushes the unfinished last line (as a line of its own) — call when the stream of
    /// `generation` reaches end of file, e.g. after the child exited.
    pub fn finish(&mut self, generation: u64, out: &mut Vec<u8>) {
        if self.format == LogFormat::Inherit || self.pending.is_empty() {
            return;
        }
        let line = std::mem::take(&mut self.pending);
        self.emit(generation, strip_cr(&line), false, out);
        self.pending = line;
        self.pending.clear();
    }

    /// Adds `bytes` to the pending line, emitting `MAX_LINE` pieces marked partial as it fills up.
    fn fill(&mut self, generation: u64, mut bytes: &[u8], out: &mut Vec<u8>) {
        while self.pending.len() + bytes.len() > MAX_LINE {
            let take = MAX_LINE - self.pending.len();
            self.pending.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            let cut = utf8_cut(&self.pending);
            let piece: Vec<u8> = self.pending.drain(..cut).collect();
            self.emit(generation, &piece, true, out);
        }
        self.pending.extend_from_slice(bytes);
    }

    fn emit(&self, generation: u64, line: &[u8], partial: bool, out: &mut Vec<u8>) {
        let stream = self.stream.as_str();
        match self.format {
            LogFormat::Inherit => {
                out.extend_from_slice(line);
                if !partial {
                    out.push(b'\n');
                }
            }
            LogFormat::Prefix => {
                let tag = if partial { " partial" } else { "" };
                let _ = write!(out, "[gen {generation} {stream}{tag}] ");
                out.extend_from_slice(line);
                out.push(b'\n');
            }
            LogFormat::Json => {
                let _ = write!(out, "{{\"gen\":{generation},\"stream\":\"{stream}\",");
                if partial {
                    out.extend_from_slice(b"\"partial\":true,");
                }
                out.extend_from_slice(b"\"line\":\"");
                json_escape(&String::from_utf8_lossy(line), out);
                out.extend_from_slice(b"\"}\n");
            }
        }
    }
}

/// Where to cut a full buffer so a UTF-8 sequence is not split: before a lead byte whose sequence
/// would not fit; the whole buffer when it ends on a boundary or is not UTF-8 there anyway.
fn utf8_cut(buf: &[u8]) -> usize {
    let n = buf.len();
    for back in 1..=3.min(n) {
        let b = buf[n - back];
        if b & 0xC0 != 0x80 {
            let need = match b {
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                0xF0..=0xF7 => 4,
                _ => return n,
            };
            return if need > back { n - back } else { n };
        }
    }
    n
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Appends `s` as the inside of a JSON string (RFC 8259): `"` `\` and C0 controls escaped.
pub fn json_escape(s: &str, out: &mut Vec<u8>) {
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let mut tmp = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests;
