//! The position-based scanners of the fast reader: each takes the body and a position and
//! returns the position after what it read (whitespace, strings found sixteen bytes at a time
//! on x86_64 by `simd` and eight elsewhere, escapes with surrogate pairs required, numbers and
//! literals checked against the JSON grammar), so that `Reader::skip_value` can keep its
//! position in a register.

/// The high bit of every byte of `w` (little-endian) that is `"`, `\` or below 0x20; bytes
/// above the lowest match may be flagged falsely (a borrow runs upwards only from a match).
///
/// The same mask as `jsonw::escape_mask`, the test-only reference (a test checks it), with the
/// three "byte is zero" tests sharing one `& !w & HIGH`: a byte of `w ^ c` has its high bit set
/// exactly when the byte of `w` has, as `"`, `\` and 0x20 are ASCII. Ten operations per word
/// instead of fifteen; `jsonw` finds its strings' clean prefix with it too.
#[inline(always)]
pub(crate) fn special_mask(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below_space = w.wrapping_sub(ONES * 0x20);
    let quote = (w ^ (ONES * b'"' as u64)).wrapping_sub(ONES);
    let backslash = (w ^ (ONES * b'\\' as u64)).wrapping_sub(ONES);
    (below_space | quote | backslash) & !w & HIGH
}

/// The first position at or after `i` that is not whitespace. The apiserver sends compact JSON,
/// so the usual answer is `i` after one comparison (every whitespace byte is at most `' '`);
/// the loop stays out of line.
#[inline(always)]
pub(super) fn ws_from(b: &[u8], i: usize) -> usize {
    match b.get(i) {
        Some(&c) if c <= b' ' => ws_run(b, i),
        _ => i,
    }
}

/// The first byte at or after `i` that is not whitespace, and its position: [`ws_from`] and a
/// read with one bounds check in the usual (compact) case.
#[inline(always)]
pub(super) fn token(b: &[u8], i: usize) -> Option<(u8, usize)> {
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
pub(super) fn ws_run(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\n' | b'\r' | b'\t') = b.get(i) {
        i += 1;
    }
    i
}

/// Index of the next `"`, `\` or control character at or after `i`, or `b.len()` when there
/// is none: sixteen bytes a step on x86_64 (`simd`), eight elsewhere.
#[inline(always)]
pub(super) fn special(b: &[u8], i: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    return super::simd::special(b, i);
    #[cfg(not(target_arch = "x86_64"))]
    special_swar(b, i).unwrap_or(b.len())
}

/// [`special`] eight bytes a step, portable (on x86_64 only for bodies under sixteen bytes).
#[inline(always)]
pub(super) fn special_swar(b: &[u8], i: usize) -> Option<usize> {
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
pub(super) fn string_end(b: &[u8], i: usize) -> Option<usize> {
    let end = special(b, i);
    if *b.get(end)? == b'"' {
        return Some(end + 1);
    }
    escaped_end(b, end)
}

/// The rest of a skipped string whose first special byte, at `end`, is not its closing quote.
#[cold]
#[inline(never)]
pub(super) fn escaped_end(b: &[u8], mut end: usize) -> Option<usize> {
    loop {
        match *b.get(end)? {
            b'"' => return Some(end + 1),
            b'\\' => end = special(b, escape(b, end)?.1),
            _ => return None,
        }
    }
}

/// `"key":` inside a skipped object at `i`; the position after the colon. Compact JSON
/// (`"key":`) is one check of the two bytes at the key's first special byte.
#[inline(always)]
pub(super) fn member_key(b: &[u8], i: usize) -> Option<usize> {
    let (c, i) = token(b, i)?;
    if c != b'"' {
        return None;
    }
    let end = special(b, i + 1);
    match b.get(end..end + 2) {
        Some(b"\":") => Some(end + 2),
        _ => member_key_slow(b, end),
    }
}

/// [`member_key`] with escapes in the key or whitespace before its colon.
#[cold]
#[inline(never)]
fn member_key_slow(b: &[u8], end: usize) -> Option<usize> {
    let after = match *b.get(end)? {
        b'"' => end + 1,
        _ => escaped_end(b, end)?,
    };
    let (c, i) = token(b, after)?;
    (c == b':').then_some(i + 1)
}

/// The escape sequence at `i` (a `\`) and the position after it; a surrogate pair must be
/// complete.
pub(super) fn escape(b: &[u8], i: usize) -> Option<(char, usize)> {
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
pub(super) fn hex4(b: &[u8], i: usize) -> Option<u32> {
    b.get(i..i + 4)?
        .iter()
        .try_fold(0, |n, &c| Some(n << 4 | (c as char).to_digit(16)?))
}

/// `word` (`true`, `false`, `null`) at `i`; the position after it.
#[inline(always)]
pub(super) fn literal(b: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    let end = i + word.len();
    (b.get(i..end)? == word).then_some(end)
}

/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?` at `i`; the position after it.
pub(super) fn number(b: &[u8], mut i: usize) -> Option<usize> {
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
