//! The reading half of the fast reader: objects and arrays with the depth limit, keys and
//! strings borrowed from the body (skipping whole values is in `skip`, the scanners both use
//! are in `lex`).

use std::{borrow::Cow, collections::BTreeMap};

use super::lex::*;

/// Room for a key with escapes, decoded: more than the longest name a reader matches
/// (`ephemeralContainers`, 19 bytes).
const KEY_MAX: usize = 32;

/// A position in a body known to be UTF-8, and the depth of the containers being read.
pub(super) struct Reader<'a> {
    s: &'a str,
    pub(super) b: &'a [u8],
    pub(super) i: usize,
    pub(super) depth: u32,
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
    #[inline(always)]
    pub(super) fn object(&mut self, mut member: impl FnMut(&mut Self, &[u8]) -> Option<()>) -> Option<()> {
        // Where a key with escapes is decoded: a plain slice for `member`, not a `Cow` to test
        // and drop for every key.
        let mut decoded = [0; KEY_MAX];
        // No whitespace skip after a `,`: `key` finds the key's quote past any.
        self.sequence(b'{', b'}', false, |r| {
            let key = r.key(&mut decoded)?;
            member(r, key)
        })
    }

    /// `[ value, … ]` at the current position; `element` reads each value.
    #[inline(always)]
    pub(super) fn array(&mut self, element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.sequence(b'[', b']', true, element)
    }

    /// `open item, item … close`, counted against the depth limit; `ws` skips whitespace
    /// before each item after a `,` (the first item never has any).
    #[inline(always)]
    fn sequence(
        &mut self,
        open: u8,
        close: u8,
        ws: bool,
        mut item: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
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
                if ws {
                    self.ws();
                }
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
        let end = special(self.b, start);
        if *self.b.get(end)? == b'"' {
            self.i = end + 1;
            return Some(Cow::Borrowed(self.s.get(start..end)?));
        }
        self.escaped_string(start, end)
    }

    /// `"key":` at the current position, up to the value (whitespace skipped). Bytes rather
    /// than `str`: matching a key against the names the view reads needs no UTF-8 boundary
    /// checks (the body is UTF-8 already). Compact JSON (`"key":v`) is read with one check of
    /// the three bytes after the key; anything else takes [`Self::key_slow`].
    #[inline(always)]
    fn key<'k>(&mut self, decoded: &'k mut [u8; KEY_MAX]) -> Option<&'k [u8]>
    where
        'a: 'k,
    {
        let b = self.b;
        let (b'"', i) = token(b, self.i)? else {
            return None;
        };
        let end = special(b, i + 1);
        // Split at `end` rather than slicing twice: one bounds check for both halves and no
        // overflow check on `end + 3`.
        let (head, tail) = b.split_at_checked(end)?;
        match tail.first_chunk::<3>() {
            Some(&[b'"', b':', c]) if c > b' ' => {
                self.i = end + 2;
                head.get(i + 1..)
            }
            _ => self.key_slow(i + 1, end, decoded),
        }
    }

    /// [`Self::key`] with escapes in the key or whitespace around its colon; `end` is the
    /// first special byte after the key's opening quote at `start - 1`. A key with escapes is
    /// decoded into `decoded`; one longer than that is longer than every name the view reads,
    /// and is given as the empty key, which no reader knows either.
    #[cold]
    #[inline(never)]
    fn key_slow<'k>(&mut self, start: usize, end: usize, decoded: &'k mut [u8; KEY_MAX]) -> Option<&'k [u8]>
    where
        'a: 'k,
    {
        let key: &'k [u8] = if *self.b.get(end)? == b'"' {
            self.i = end + 1;
            self.b.get(start..end)?
        } else {
            let owned = self.escaped_string(start, end)?;
            match decoded.get_mut(..owned.len()) {
                Some(to) => {
                    to.copy_from_slice(owned.as_bytes());
                    to
                }
                None => b"",
            }
        };
        self.colon()?;
        self.ws();
        Some(key)
    }

    /// The rest of a string whose first special byte, at `end`, is not its closing quote.
    #[cold]
    #[inline(never)]
    pub(super) fn escaped_string(&mut self, start: usize, mut end: usize) -> Option<Cow<'a, str>> {
        let mut owned = String::with_capacity(end - start + 8);
        self.i = start;
        loop {
            owned.push_str(self.s.get(self.i..end)?);
            match *self.b.get(end)? {
                b'"' => {
                    self.i = end + 1;
                    return Some(Cow::Owned(owned));
                }
                b'\\' => {
                    let (c, after) = escape(self.b, end)?;
                    owned.push(c);
                    self.i = after;
                    end = special(self.b, after);
                }
                _ => return None,
            }
        }
    }

    /// A string field (no `null`), borrowed from the body unless it has escapes.
    #[inline(always)]
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
        self.sequence(b'{', b'}', true, |r| {
            let key = r.string()?;
            r.colon()?;
            r.ws();
            m.insert(key, r.owned()?);
            Some(())
        })?;
        Some(m)
    }

    /// `[ item, … ]`, each item read in place into a default value (no copy of a large one).
    pub(super) fn list<T: Default>(
        &mut self,
        mut item: impl FnMut(&mut Self, &mut T) -> Option<()>,
    ) -> Option<Vec<T>> {
        // The capacity the first push would grow to, without the call that grows it.
        let mut v = Vec::with_capacity(4);
        self.array(|r| {
            v.push(T::default());
            item(r, v.last_mut()?)
        })?;
        Some(v)
    }
}
