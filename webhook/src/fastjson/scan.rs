//! The scanning half of the fast reader: whitespace, objects and arrays, strings (found eight
//! bytes at a time, escapes decoded, surrogate pairs required), numbers and literals checked
//! against the JSON grammar, and skipping whole values in one loop.

use std::{borrow::Cow, collections::BTreeMap};

use crate::jsonw::escape_mask;

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

    pub(super) fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    pub(super) fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    pub(super) fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// `{ "key": value, … }` at the current position; `member` reads each value.
    pub(super) fn object(&mut self, mut member: impl FnMut(&mut Self, &str) -> Option<()>) -> Option<()> {
        self.sequence(b'{', b'}', |r| {
            let key = r.string()?;
            r.ws();
            r.eat(b':')?;
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
        self.ws();
        if self.eat(close).is_none() {
            loop {
                item(self)?;
                self.ws();
                match self.peek()? {
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

    /// Index of the next `"`, `\` or control character at or after `i`.
    #[inline(always)]
    pub(super) fn special(&self, mut i: usize) -> Option<usize> {
        while let Some(word) = self.b.get(i..i + 8) {
            let mask = escape_mask(u64::from_le_bytes(word.try_into().ok()?));
            if mask != 0 {
                return Some(i + (mask.trailing_zeros() / 8) as usize);
            }
            i += 8;
        }
        let rest = self.b.get(i..)?;
        let at = rest.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
        Some(i + at)
    }

    /// A string at the current position: borrowed from the body unless it has escapes.
    #[inline(always)]
    pub(super) fn string(&mut self) -> Option<Cow<'a, str>> {
        self.eat(b'"')?;
        let start = self.i;
        let end = self.special(start)?;
        if self.b[end] == b'"' {
            self.i = end + 1;
            return Some(Cow::Borrowed(self.s.get(start..end)?));
        }
        self.escaped_string(start, end)
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
                    self.i = end;
                    owned.push(self.escape()?);
                    end = self.special(self.i)?;
                }
                _ => return None,
            }
        }
    }

    /// One escape sequence at `\`; a surrogate pair must be complete.
    pub(super) fn escape(&mut self) -> Option<char> {
        let c = *self.b.get(self.i + 1)?;
        self.i += 2;
        Some(match c {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = self.hex4()?;
                if (0xD800..0xDC00).contains(&hi) {
                    if self.b.get(self.i..self.i + 2)? != b"\\u" {
                        return None;
                    }
                    self.i += 2;
                    let lo = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&lo) {
                        return None;
                    }
                    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))?
                } else {
                    char::from_u32(hi)?
                }
            }
            _ => return None,
        })
    }

    pub(super) fn hex4(&mut self) -> Option<u32> {
        let digits = self.s.get(self.i..self.i + 4)?;
        if !digits.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        self.i += 4;
        u32::from_str_radix(digits, 16).ok()
    }

    /// Any value, checked against the JSON grammar and dropped. One loop with the open
    /// containers as a bit stack (1 = object), no call per token: most of a review is skipped.
    pub(super) fn skip(&mut self) -> Option<()> {
        let mut objects: u128 = 0;
        let mut d: u32 = 0;
        'value: loop {
            match self.peek()? {
                open @ (b'{' | b'[') => {
                    d += 1;
                    if self.depth + d > super::MAX_DEPTH {
                        return None;
                    }
                    let object = open == b'{';
                    let bit = 1u128 << (d - 1);
                    objects = if object { objects | bit } else { objects & !bit };
                    self.i += 1;
                    self.ws();
                    if self.peek()? == open + 2 {
                        // `}` and `]` follow `{` and `[` by two in ASCII.
                        self.i += 1;
                        d -= 1;
                    } else {
                        if object {
                            self.member_key()?;
                        }
                        continue 'value;
                    }
                }
                b'"' => self.skip_string()?,
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                b'-' | b'0'..=b'9' => self.number()?,
                _ => return None,
            }
            // A value ended: close containers until a `,` leads to the next value.
            loop {
                if d == 0 {
                    return Some(());
                }
                self.ws();
                let object = objects >> (d - 1) & 1 == 1;
                match self.peek()? {
                    b',' => {
                        self.i += 1;
                        self.ws();
                        if object {
                            self.member_key()?;
                        }
                        continue 'value;
                    }
                    b'}' if object => {}
                    b']' if !object => {}
                    _ => return None,
                }
                self.i += 1;
                d -= 1;
            }
        }
    }

    /// `"key":` inside a skipped object, leaving the position at the value.
    #[inline(always)]
    pub(super) fn member_key(&mut self) -> Option<()> {
        self.skip_string()?;
        self.ws();
        self.eat(b':')?;
        self.ws();
        Some(())
    }

    /// A string, checked (escapes included) and dropped: nothing is sliced or copied.
    #[inline(always)]
    pub(super) fn skip_string(&mut self) -> Option<()> {
        self.eat(b'"')?;
        loop {
            let end = self.special(self.i)?;
            match self.b[end] {
                b'"' => {
                    self.i = end + 1;
                    return Some(());
                }
                b'\\' => {
                    self.i = end;
                    self.escape()?;
                }
                _ => return None,
            }
        }
    }

    pub(super) fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.i + word.len();
        (self.b.get(self.i..end)? == word).then(|| self.i = end)
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    pub(super) fn number(&mut self) -> Option<()> {
        let digits = |r: &mut Self| {
            let start = r.i;
            while let Some(b'0'..=b'9') = r.peek() {
                r.i += 1;
            }
            (r.i > start).then_some(())
        };
        let _ = self.eat(b'-');
        if self.eat(b'0').is_none() {
            digits(self)?;
        }
        if self.eat(b'.').is_some() {
            digits(self)?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            digits(self)?;
        }
        Some(())
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
        self.sequence(b'{', b'}', |r| {
            let key = r.string()?;
            r.ws();
            r.eat(b':')?;
            r.ws();
            m.insert(key, r.string()?);
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
