//! The x86_64 scanners of the fast reader, sixteen bytes a step with SSE2 (part of every
//! x86_64, so there is nothing to detect): the next special byte of a string, and the ASCII test
//! that lets the common body skip the UTF-8 check. Other targets use the portable scanners in
//! `lex` (tests run both against a byte-by-byte reference).
//!
//! The only `unsafe` in the crate: unaligned loads of sixteen bytes that a `&[u8; 16]` (or a
//! `&[u8; 64]`) proves readable, and an ASCII body taken as `str`.

use std::arch::x86_64::*;

/// One bit per byte of `chunk` (lowest bit first) that is `"`, `\` or below 0x20.
#[inline(always)]
fn special_bits(chunk: &[u8; 16]) -> u32 {
    // SAFETY: `chunk` is sixteen readable bytes and `_mm_loadu_si128` has no alignment
    // requirement; the other intrinsics are SSE2, which every x86_64 CPU has.
    unsafe {
        let v = _mm_loadu_si128(chunk.as_ptr().cast());
        let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        // Unsigned `v <= 0x1f`: the minimum of the two is `v` itself.
        let control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
        _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control)) as u32
    }
}

/// Index of the next `"`, `\` or control character at or after `i`, or `b.len()` when there
/// is none (callers read the byte there with `get`, which then fails: no `Option` to test on
/// the way), sixteen bytes a step. The last step of a body re-reads the final sixteen bytes
/// rather than reading past the end; bodies shorter than that take the portable scanner. The
/// strings of a review nearly all end within 32 bytes, so the first two steps are inline (the
/// call to the loop costs more than a step); the loop for longer ones is not.
#[inline(always)]
pub(super) fn special(b: &[u8], i: usize) -> usize {
    step(b, i, |b, i| step(b, i, special_long))
}

/// One sixteen-byte step at `i`; `then` continues sixteen bytes later when it finds nothing.
#[inline(always)]
fn step(b: &[u8], i: usize, then: impl FnOnce(&[u8], usize) -> usize) -> usize {
    match b.get(i..).and_then(<[u8]>::first_chunk::<16>) {
        Some(chunk) => match special_bits(chunk) {
            0 => then(b, i + 16),
            bits => i + bits.trailing_zeros() as usize,
        },
        None => special_tail(b, i),
    }
}

/// [`special`] after two steps found nothing.
#[inline(never)]
fn special_long(b: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = b.get(i..).and_then(<[u8]>::first_chunk::<16>) {
        let bits = special_bits(chunk);
        if bits != 0 {
            return i + bits.trailing_zeros() as usize;
        }
        i += 16;
    }
    special_tail(b, i)
}

/// The fewer than sixteen bytes from `i` to the end of the body.
#[cold]
#[inline(never)]
fn special_tail(b: &[u8], i: usize) -> usize {
    special_tail_at(b, i).unwrap_or(b.len())
}

fn special_tail_at(b: &[u8], i: usize) -> Option<usize> {
    let Some(last) = b.len().checked_sub(16) else {
        return super::lex::special_swar(b, i);
    };
    if i >= b.len() {
        return None;
    }
    let chunk = b[last..].first_chunk::<16>()?;
    let bits = special_bits(chunk) >> (i - last);
    (bits != 0).then(|| i + bits.trailing_zeros() as usize)
}

/// The body as `str` when every byte is ASCII (UTF-8 without further checks); `None` when it
/// is not ASCII, and the caller asks `from_utf8`.
pub(super) fn ascii_str(b: &[u8]) -> Option<&str> {
    if !ascii(b) {
        return None;
    }
    // SAFETY: every byte is below 0x80, and a sequence of ASCII bytes is valid UTF-8.
    Some(unsafe { std::str::from_utf8_unchecked(b) })
}

/// True when every byte is ASCII, 64 bytes a step.
fn ascii(b: &[u8]) -> bool {
    let blocks = b.chunks_exact(64);
    let tail = blocks.remainder();
    for block in blocks {
        let block: &[u8; 64] = block.try_into().expect("chunks of 64");
        // SAFETY: `block` is 64 readable bytes, read as four unaligned loads of sixteen at
        // offsets 0, 16, 32 and 48; the other intrinsics are SSE2 (baseline on x86_64).
        let high = unsafe {
            let p = block.as_ptr();
            let a = _mm_loadu_si128(p.cast());
            let b = _mm_loadu_si128(p.add(16).cast());
            let c = _mm_loadu_si128(p.add(32).cast());
            let d = _mm_loadu_si128(p.add(48).cast());
            _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d)))
        };
        if high != 0 {
            return false;
        }
    }
    tail.is_ascii()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fastjson::lex::special_swar;

    fn reference(b: &[u8], i: usize) -> Option<usize> {
        (i..b.len()).find(|&j| matches!(b[j], b'"' | b'\\' | 0..=0x1f))
    }

    /// Both scanners against the reference: bodies of 0-80 bytes (shorter and longer than a
    /// step, ending inside and on a step), each start, and a special byte — or a neighbour of
    /// one that is not special — at each position, alone or after a second one.
    #[test]
    fn special_matches_reference_at_every_length_offset_and_position() {
        let specials = [b'"', b'\\', 0, 0x1f, b'\n'];
        let near = [b' ', 0x7f, 0x80, 0xff, b'!', b'#', b'[', b']', 0x9f, 0xdc];
        for len in 0..80usize {
            let mut bodies = vec![vec![b'a'; len]];
            for at in 0..len {
                for &c in specials.iter().chain(&near) {
                    let mut body = vec![b'a'; len];
                    body[at] = c;
                    bodies.push(body.clone());
                    if at + 17 < len {
                        body[at + 17] = b'"';
                        bodies.push(body);
                    }
                }
            }
            for body in &bodies {
                for i in 0..=len + 1 {
                    let want = reference(body, i).filter(|_| i <= len);
                    assert_eq!(special(body, i), want.unwrap_or(len), "simd {body:?} from {i}");
                    assert_eq!(special_swar(body, i), want, "swar {body:?} from {i}");
                }
            }
        }
    }

    #[test]
    fn ascii_finds_a_high_byte_anywhere() {
        for len in 0..200 {
            assert!(ascii(&vec![0x7f; len]));
            assert_eq!(ascii_str(b"{}"), Some("{}"));
            for at in 0..len {
                let mut body = vec![b'x'; len];
                body[at] = 0x80;
                assert!(!ascii(&body), "{len} {at}");
                assert_eq!(ascii_str(&body), None);
            }
        }
    }
}
