//! Ignore globs for `--ignore` (gitignore-like, small, no crates).
//!
//! - `*` any run of characters except `/`; `?` one character except `/`; `[abc]` `[a-z]` `[!x]`
//!   character classes; `\x` a literal `x`; `**` as a whole component matches any number of
//!   components, including none.
//! - A pattern without `/` matches a name at any depth (`*.swp`, `node_modules`).
//! - A pattern with a `/` inside matches the path relative to the watched directory
//!   (`build/*.o`, `**/node_modules/**`); a pattern starting with `/` is an absolute path.
//! - A trailing `/` matches directories only (`target/`).
//! - Matching a directory ignores everything below it, and `dir/**` also matches `dir` itself, so
//!   ignored directories are not even watched.

/// One compiled pattern.
#[derive(Debug, Clone)]
pub(crate) struct Glob {
    segs: Vec<Vec<Tok>>,
    /// `true` when the pattern had a `/` (other than a trailing one): match whole paths.
    anchored: bool,
    absolute: bool,
    dir_only: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Lit(u8),
    Any,
    Star,
    Class {
        negated: bool,
        ranges: Vec<(u8, u8)>,
    },
    /// `**` (only ever alone in a segment).
    Deep,
}

impl Glob {
    /// Compiles a pattern; `Err` names what is wrong.
    pub fn new(pattern: &str) -> Result<Glob, String> {
        if pattern.is_empty() {
            return Err("empty ignore pattern".into());
        }
        let absolute = pattern.starts_with('/');
        let dir_only = pattern.len() > 1 && pattern.ends_with('/');
        let body = pattern.trim_start_matches('/').trim_end_matches('/');
        if body.is_empty() {
            return Err(format!("ignore pattern {pattern:?} matches nothing"));
        }
        let anchored = absolute || body.contains('/');
        let segs = body
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| {
                if s == "**" {
                    Ok(vec![Tok::Deep])
                } else {
                    compile_seg(s.as_bytes(), pattern)
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Glob {
            segs,
            anchored,
            absolute,
            dir_only,
        })
    }

    /// Whether the path (given relative to its watched root as components, and as an absolute
    /// path's components) is ignored: it or one of its ancestors matches.
    pub fn matches(&self, rel: &[&[u8]], abs: &[&[u8]], is_dir: bool) -> bool {
        let comps = if self.absolute { abs } else { rel };
        let n = comps.len();
        if !self.anchored {
            return comps
                .iter()
                .enumerate()
                .any(|(i, c)| (i + 1 < n || is_dir || !self.dir_only) && match_seg(&self.segs[0], c));
        }
        (1..=n).any(|k| (k < n || is_dir || !self.dir_only) && match_path(&self.segs, &comps[..k]))
    }
}

fn compile_seg(s: &[u8], pattern: &str) -> Result<Vec<Tok>, String> {
    let mut toks = Vec::new();
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'*' => {
                if toks.last() != Some(&Tok::Star) {
                    toks.push(Tok::Star);
                }
            }
            b'?' => toks.push(Tok::Any),
            b'\\' => {
                i += 1;
                let c = *s
                    .get(i)
                    .ok_or_else(|| format!("ignore pattern {pattern:?} ends with '\\'"))?;
                toks.push(Tok::Lit(c));
            }
            b'[' => {
                let (tok, next) = compile_class(s, i + 1)
                    .ok_or_else(|| format!("ignore pattern {pattern:?} has an unclosed '['"))?;
                toks.push(tok);
                i = next;
                continue;
            }
            c => toks.push(Tok::Lit(c)),
        }
        i += 1;
    }
    Ok(toks)
}

/// Parses a class body starting after `[`; returns the token and the index after `]`.
fn compile_class(s: &[u8], mut i: usize) -> Option<(Tok, usize)> {
    let negated = matches!(s.get(i), Some(b'!' | b'^'));
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let c = *s.get(i)?;
        if c == b']' && !first {
            return Some((Tok::Class { negated, ranges }, i + 1));
        }
        first = false;
        let lo = if c == b'\\' {
            i += 1;
            *s.get(i)?
        } else {
            c
        };
        if s.get(i + 1) == Some(&b'-') && s.get(i + 2).is_some_and(|&h| h != b']') {
            ranges.push((lo, s[i + 2]));
            i += 3;
        } else {
            ranges.push((lo, lo));
            i += 1;
        }
    }
}

/// Whole-path match, `**` spanning any number of components.
fn match_path(segs: &[Vec<Tok>], comps: &[&[u8]]) -> bool {
    match segs.split_first() {
        None => comps.is_empty(),
        Some((first, rest)) if first.as_slice() == [Tok::Deep] => {
            (0..=comps.len()).any(|skip| match_path(rest, &comps[skip..]))
        }
        Some((first, rest)) => {
            !comps.is_empty() && match_seg(first, comps[0]) && match_path(rest, &comps[1..])
        }
    }
}

/// One component against one segment (`*` backtracking).
fn match_seg(toks: &[Tok], name: &[u8]) -> bool {
    if toks == [Tok::Deep] {
        return true;
    }
    let (mut t, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match toks.get(t) {
            Some(Tok::Star) => {
                star = Some((t, n));
                t += 1;
                continue;
            }
            Some(tok) if tok_matches(tok, name[n]) => {
                t += 1;
                n += 1;
                continue;
            }
            _ => {}
        }
        match star {
            Some((st, sn)) => {
                t = st + 1;
                n = sn + 1;
                star = Some((st, sn + 1));
            }
            None => return false,
        }
    }
    toks[t..].iter().all(|x| *x == Tok::Star)
}

fn tok_matches(tok: &Tok, c: u8) -> bool {
    match tok {
        Tok::Lit(l) => *l == c,
        Tok::Any => true,
        Tok::Class { negated, ranges } => ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated,
        Tok::Star | Tok::Deep => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comps(p: &str) -> Vec<&[u8]> {
        p.split('/')
            .filter(|s| !s.is_empty())
            .map(str::as_bytes)
            .collect()
    }

    fn m(pattern: &str, rel: &str, is_dir: bool) -> bool {
        let abs = format!("/app/{rel}");
        Glob::new(pattern)
            .unwrap()
            .matches(&comps(rel), &comps(&abs), is_dir)
    }

    #[test]
    fn glob_table() {
        let cases: &[(&str, &str, bool, bool)] = &[
            ("*.swp", ".main.rs.swp", false, true),
            ("*.swp", "src/.main.rs.swp", false, true),
            ("*.swp", "src/main.rs", false, false),
            ("*~", "src/main.rs~", false, true),
            ("node_modules", "web/node_modules/x/y.js", false, true),
            ("node_modules", "web/node_modules_old/y.js", false, false),
            ("**/node_modules/**", "node_modules", true, true),
            ("**/node_modules/**", "a/b/node_modules/c/d.js", false, true),
            ("**/node_modules/**", "a/node_modulesx/d.js", false, false),
            ("build/*.o", "build/x.o", false, true),
            ("build/*.o", "src/build/x.o", false, false),
            ("build/*.o", "build/sub/x.o", false, false),
            ("src/**/*.rs", "src/a/b/c.rs", false, true),
            ("src/**/*.rs", "src/c.rs", false, true),
            ("target/", "target", true, true),
            ("target/", "target", false, false),
            ("target/", "target/debug/x", false, true),
            ("?.txt", "a.txt", false, true),
            ("?.txt", "ab.txt", false, false),
            ("[abc].txt", "b.txt", false, true),
            ("[!abc].txt", "b.txt", false, false),
            ("[a-c]x", "cx", false, true),
            ("[a-c]x", "dx", false, false),
            ("\\*lit", "*lit", false, true),
            ("\\*lit", "xlit", false, false),
            ("a*b*c", "aXXbYYc", false, true),
            ("a*b*c", "aXXbYY", false, false),
            ("/app/tmp/**", "tmp/x", false, true),
            ("/app/tmp/**", "src/tmp/x", false, false),
            ("*", "anything/at/all", false, true),
            ("4913", "4913", false, true),
            (".#*", "src/.#main.rs", false, true),
        ];
        for (p, path, is_dir, want) in cases {
            assert_eq!(
                m(p, path, *is_dir),
                *want,
                "pattern {p:?} path {path:?} dir={is_dir}"
            );
        }
    }

    #[test]
    fn bad_patterns_are_errors() {
        for p in ["", "/", "a[bc", "trailing\\"] {
            assert!(Glob::new(p).is_err(), "{p:?} should be rejected");
        }
    }
}
