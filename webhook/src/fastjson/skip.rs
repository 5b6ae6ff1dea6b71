//! Skipping the values the view does not read — most of a review — checked against the JSON
//! grammar in one loop with no call per token.

use super::{lex::*, scan::Reader};

impl Reader<'_> {
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
            // Strings first: most skipped values are strings.
            if c == b'"' {
                i = string_end(b, i + 1)?;
            } else {
                match c {
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
                if c == b',' {
                    i += 1;
                    if object {
                        i = member_key(b, i)?;
                    }
                    continue 'value;
                }
                if c != if object { b'}' } else { b']' } {
                    return None;
                }
                i += 1;
                d -= 1;
                objects >>= 1;
            }
        }
    }
}
