//! The scanning half of the fast reader: whitespace, objects and arrays, strings (found eight
//! bytes at a time, escapes decoded, surrogate pairs required), numbers and literals checked
//! against the JSON grammar, and skipping whole values in one loop.

use std::{borrow::Cow, collections::BTreeMap};

/// The high bit of every byte of `w` (little-endian) that is `"`, `\` or below 0x20; bytes
/// above the lowest match may be flagged falsely (a borrow runs upwards only from a match).
///
/// The same mask as `jsonw::escape_mask` (a test checks it), with the three "byte is zero"
/// tests sharing one `& !w & HIGH`: a byte of `w ^ c` has its high bit set exactly when the
/// byte of `w` has, as `"`, `\` and 0x20 are ASCII. Ten operations per word instead of fifteen.
#[inline(always)]
pub(super) fn special_mask(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below_space = w.wrapping_sub(ONES * 0x20);
    let quote = (w ^ (ONES * b'"' as u64)).wrapping_sub(ONES);
    let backslash = (w ^ (ONES * b'\\' as u64)).wrapping_sub(ONES);
    (below_space | quote | backslash) & !w & HIGH
}

/// A position in a body known to be UTF-8, and the depth of the containers being read.
pub(super) struct Reader<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
    depth: u32,
}

impl<'a> Reader<'a> {
    pub(super) fn new(s: &'a str) -> Self {
        Reader {
            s,
            b: s.as_bytes(),
            i: 0,
            depth: 0,
        }
    }

    /// True when only whitespace is left.
    pub(super) fn at_end(&mut self) -> bool {
        self.ws();
        self.i == self.b.len()
    }

    #[inline(always)]
    pub(super) fn ws(&mut self) {
        self.i = ws_from(self.b, self.i);
    }

    /// The next byte that is not whitespace, without consuming it (`None` at the end).
    #[inline(always)]
    pub(super) fn next(&mut self) -> Option<u8> {
        let (c, i) = token(self.b, self.i)?;
        self.i = i;
        Some(c)
    }

    /// `:` between a key and its value.
    #[inline(always)]
    fn colon(&mut self) -> Option<()> {
        (self.next()? == b':').then(|| self.i += 1)
    }

    pub(super) fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    pub(super) fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// `{ "key": value, … }` at the current position; `member` reads each value, given the key
    /// as bytes (decoded if it has escapes).
    pub(super) fn object(&mut self, mut member: impl FnMut(&mut Self, &[u8]) -> Option<()>) -> Option<()> {
        self.sequence(b'{', b'}', |r| {
            let key = r.key()?;
            r.colon()?;
            r.ws();
            member(r, &key)
        })
    }

    /// `[ value, … ]` at the current position; `element` reads each value.
    pub(super) fn array(&mut self, element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.sequence(b'[', b']', element)
    }

    /// `open item, item … close`, counted against the depth limit.
    fn sequence(&mut self, open: u8, close: u8, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(open)?;
        self.depth += 1;
        if self.depth > super::MAX_DEPTH {
            return None;
        }
        if self.next()? == close {
            self.i += 1;
        } else {
            loop {
                item(self)?;
                match self.next()? {
                    b',' => self.i += 1,
                    c if c == close => {
                        self.i += 1;
                        break;
                    }
                    _ => return None,
                }
                self.ws();
            }
        }
        self.depth -= 1;
        Some(())
    }

    /// A string at the current position: borrowed from the body unless it has escapes.
    #[inline(always)]
    pub(super) fn string(&mut self) -> Option<Cow<'a, str>> {
        self.eat(b'"')?;
        let start = self.i;
        let end = special(self.b, start)?;
        if self.b[end] == b'"' {
            self.i = end + 1;
            return Some(Cow::Borrowed(self.s.get(start..end)?));
        }
        self.escaped_string(start, end)
    }

    /// A key at the current position. Bytes rather than `str`: matching a key against the
    /// names the view reads needs no UTF-8 boundary checks (the body is UTF-8 already).
    #[inline(always)]
    fn key(&mut self) -> Option<Cow<'a, [u8]>> {
        self.eat(b'"')?;
        let start = self.i;
        let end = special(self.b, start)?;
        if *self.b.get(end)? == b'"' {
            self.i = end + 1;
            return Some(Cow::Borrowed(self.b.get(start..end)?));
        }
        let key = self.escaped_string(start, end)?;
        Some(Cow::Owned(key.into_owned().into_bytes()))
    }

    /// The rest of a string whose first special byte, at `end`, is not its closing quote.
    #[cold]
    #[inline(never)]
    pub(super) fn escaped_string(&mut self, start: usize, mut end: usize) -> Option<Cow<'a, str>> {
        let mut owned = String::with_capacity(end - start + 8);
        self.i = start;
        loop {
            owned.push_str(self.s.get(self.i..end)?);
            match self.b[end] {
                b'"' => {
                    self.i = end + 1;
                    return Some(Cow::Owned(owned));
                }
                b'\\' => {
                    let (c, after) = escape(self.b, end)?;
                    owned.push(c);
                    self.i = after;
                    end = special(self.b, after)?;
                }
                _ => return None,
            }
        }
    }

    /// Any value, checked against the JSON grammar and dropped. A string, the most common
    /// value of a member the view does not read, is skipped here without a call.
    #[inline(always)]
    pub(super) fn skip(&mut self) -> Option<()> {
        match token(self.b, self.i)? {
            (b'"', i) => {
                self.i = string_end(self.b, i + 1)?;
                Some(())
            }
            _ => self.skip_value(),
        }
    }

    /// Any value, checked against the JSON grammar and dropped: most of a review is skipped.
    /// One loop with no call per token; the position lives in a local (not in `self`) so that
    /// it stays in a register, and the open containers are a bit stack (innermost in the low
    /// bit, 1 = object).
    fn skip_value(&mut self) -> Option<()> {
        let b = self.b;
        let mut i = self.i;
        let mut objects: u128 = 0;
        let mut d: u32 = 0;
        'value: loop {
            let c;
            (c, i) = token(b, i)?;
            match c {
                b'"' => i = string_end(b, i + 1)?,
                open @ (b'{' | b'[') => {
                    d += 1;
                    if self.depth + d > super::MAX_DEPTH {
                        return None;
                    }
                    objects = objects << 1 | (open == b'{') as u128;
                    let c;
                    (c, i) = token(b, i + 1)?;
                    if c == open + 2 {
                        // `}` and `]` follow `{` and `[` by two in ASCII.
                        i += 1;
                        d -= 1;
                        objects >>= 1;
                    } else {
                        if open == b'{' {
                            i = member_key(b, i)?;
                        }
                        continue 'value;
                    }
                }
                b't' => i = literal(b, i, b"true")?,
                b'f' => i = literal(b, i, b"false")?,
                b'n' => i = literal(b, i, b"null")?,
                b'-' | b'0'..=b'9' => i = number(b, i)?,
                _ => return None,
            }
            // A value ended: close containers until a `,` leads to the next value.
            loop {
                if d == 0 {
                    self.i = i;
                    return Some(());
                }
                let object = objects & 1 == 1;
                let c;
                (c, i) = token(b, i)?;
                match c {
                    b',' => {
                        i += 1;
                        if object {
                            i = member_key(b, i)?;
                        }
                        continue 'value;
                    }
                    b'}' if object => {}
                    b']' if !object => {}
                    _ => return None,
                }
                i += 1;
                d -= 1;
                objects >>= 1;
            }
        }
    }

    /// A string field (no `null`), borrowed from the body unless it has escapes.
    pub(super) fn owned(&mut self) -> Option<Cow<'a, str>> {
        self.string()
    }

    pub(super) fn strings(&mut self) -> Option<Vec<Cow<'a, str>>> {
        let mut v = Vec::new();
        self.array(|r| {
            v.push(r.owned()?);
            Some(())
        })?;
        Some(v)
    }

    /// `{ "key": "value", … }`; a repeated key keeps its last value, as serde's map does.
    pub(super) fn string_map(&mut self) -> Option<BTreeMap<Cow<'a, str>, Cow<'a, str>>> {
        let mut m = BTreeMap::new();
        // Not `object`: its keys are bytes, these are the map's keys.
        self.sequence(b'{', b'}', |r| {
            let key = r.string()?;
            r.colon()?;
            r.ws();
            m.insert(key, r.owned()?);
            Some(())
        })?;
        Some(m)
    }

    pub(super) fn list<T>(&mut self, mut item: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        let mut v = Vec::new();
        self.array(|r| {
            v.push(item(r)?);
            Some(())
        })?;
        Some(v)
    }
}

// The scanners below take the body and a position and return the position after what they
// read, so that `skip` can keep its position in a register.

/// The first position at or after `i` that is not whitespace. The apiserver sends compact JSON,
/// so the usual answer is `i` after one comparison (every whitespace byte is at most `' '`);
/// the loop stays out of line.
#[inline(always)]
fn ws_from(b: &[u8], i: usize) -> usize {
    match b.get(i) {
        Some(&c) if c <= b' ' => ws_run(b, i),
        _ => i,
    }
}

/// The first byte at or after `i` that is not whitespace, and its position: [`ws_from`] and a
/// read with one bounds check in the usual (compact) case.
#[inline(always)]
fn token(b: &[u8], i: usize) -> Option<(u8, usize)> {
    match *b.get(i)? {
        c if c > b' ' => Some((c, i)),
        _ => {
            let i = ws_run(b, i);
            Some((*b.get(i)?, i))
        }
    }
}

#[cold]
#[inline(never)]
fn ws_run(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\n' | b'\r' | b'\t') = b.get(i) {
        i += 1;
    }
    i
}

/// Index of the next `"`, `\` or control character at or after `i`, eight bytes a step.
#[inline(always)]
fn special(b: &[u8], i: usize) -> Option<usize> {
    // `chunks_exact` rather than indexing: one length test per word and no index arithmetic.
    let mut words = b.get(i..)?.chunks_exact(8);
    let mut at = i;
    for word in words.by_ref() {
        let mask = special_mask(u64::from_le_bytes(word.try_into().ok()?));
        if mask != 0 {
            return Some(at + (mask.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    // Fewer than eight bytes left: the end of the body.
    let tail = words
        .remainder()
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
    Some(at + tail)
}

/// The position after the string whose contents start at `i` (just after its `"`), checked
/// (escapes included) and dropped: nothing is sliced or copied.
#[inline(always)]
fn string_end(b: &[u8], i: usize) -> Option<usize> {
    let end = special(b, i)?;
    if *b.get(end)? == b'"' {
        return Some(end + 1);
    }
    escaped_end(b, end)
}

/// The rest of a skipped string whose first special byte, at `end`, is not its closing quote.
#[cold]
#[inline(never)]
fn escaped_end(b: &[u8], mut end: usize) -> Option<usize> {
    loop {
        match *b.get(end)? {
            b'"' => return Some(end + 1),
            b'\\' => end = special(b, escape(b, end)?.1)?,
            _ => return None,
        }
    }
}

/// `"key":` inside a skipped object at `i`; the position after the colon.
#[inline(always)]
fn member_key(b: &[u8], i: usize) -> Option<usize> {
    let (c, i) = token(b, i)?;
    if c != b'"' {
        return None;
    }
    let (c, i) = token(b, string_end(b, i + 1)?)?;
    (c == b':').then_some(i + 1)
}

/// The escape sequence at `i` (a `\`) and the position after it; a surrogate pair must be
/// complete.
fn escape(b: &[u8], i: usize) -> Option<(char, usize)> {
    let c = match *b.get(i + 1)? {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let hi = hex4(b, i + 2)?;
            if !(0xD800..0xDC00).contains(&hi) {
                return Some((char::from_u32(hi)?, i + 6));
            }
            if b.get(i + 6..i + 8)? != b"\\u" {
                return None;
            }
            let lo = hex4(b, i + 8)?;
            if !(0xDC00..0xE000).contains(&lo) {
                return None;
            }
            let c = char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))?;
            return Some((c, i + 12));
        }
        _ => return None,
    };
    Some((c, i + 2))
}

/// Four hex digits at `i`.
fn hex4(b: &[u8], i: usize) -> Option<u32> {
    b.get(i..i + 4)?
        .iter()
        .try_fold(0, |n, &c| Some(n << 4 | (c as char).to_digit(16)?))
}

/// `word` (`true`, `false`, `null`) at `i`; the position after it.
#[inline(always)]
fn literal(b: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    let end = i + word.len();
    (b.get(i..end)? == word).then_some(end)
}

/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?` at `i`; the position after it.
fn number(b: &[u8], mut i: usize) -> Option<usize> {
    let digits = |mut i: usize| {
        let start = i;
        while let Some(b'0'..=b'9') = b.get(i) {
            i += 1;
        }
        (i > start).then_some(i)
    };
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    i = match b.get(i)? {
        b'0' => i + 1,
        _ => digits(i)?,
    };
    if b.get(i) == Some(&b'.') {
        i = digits(i + 1)?;
    }
    if let Some(b'e' | b'E') = b.get(i) {
        i += 1;
        if let Some(b'+' | b'-') = b.get(i) {
            i += 1;
        }
        i = digits(i)?;
    }
    Some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `special_mask` is `jsonw::escape_mask` regrouped: the same bits for every word, here for
    /// each byte value in each lane next to neighbours that are and are not special.
    #[test]
    fn special_mask_is_escape_mask() {
        let fills = [
            0u8, b' ', b'a', b'"', b'\\', 0x1f, 0x7f, 0x80, 0xff, 0x21, 0x5b, 0x5d,
        ];
        for fill in fills {
            for lane in 0..8 {
                for c in 0..=255u8 {
                    let mut bytes = [fill; 8];
                    bytes[lane] = c;
                    let w = u64::from_le_bytes(bytes);
                    assert_eq!(special_mask(w), crate::jsonw::escape_mask(w), "{bytes:?}");
                }
            }
        }
    }

    #[test]
    fn numbers_and_literals() {
        for ok in ["0", "-0", "12", "-1.5", "1e5", "1E+5", "2.5e-3", "0.0"] {
            assert_eq!(number(ok.as_bytes(), 0), Some(ok.len()), "{ok}");
        }
        assert_eq!(number(b"01", 0), Some(1), "a number ends after a leading 0");
        for bad in ["-", "1.", "1e", "1e+", ".5", "-a", ""] {
            assert_eq!(number(bad.as_bytes(), 0), None, "{bad}");
        }
        assert_eq!(literal(b"nul", 0, b"null"), None);
        assert_eq!(literal(b"null,", 0, b"null"), Some(4));
    }

    #[test]
    fn hex_and_escapes() {
        assert_eq!(hex4(b"00e9", 0), Some(0xe9));
        assert_eq!(hex4(b"FfFf", 0), Some(0xffff));
        assert_eq!(hex4(b"0+12", 0), None);
        assert_eq!(hex4(b"012", 0), None);
        assert_eq!(escape(br"\ud83d\ude00x", 0), Some(('\u{1F600}', 12)));
        assert_eq!(escape(br"\ud83dx", 0), None);
        assert_eq!(escape(br"\udc00", 0), None);
        assert_eq!(escape(br"\u0041", 0), Some(('A', 6)));
        assert_eq!(escape(br"\x", 0), None);
        assert_eq!(escape(br"\", 0), None);
    }
}
