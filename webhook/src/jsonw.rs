//! Writing JSON straight into a byte buffer, for the admission hot path: the patch, the
//! original-argv annotation and the response are written once, without building
//! `serde_json::Value` trees (each a heap of maps and strings built only to be serialized and
//! dropped). Strings are escaped exactly as serde_json escapes them, so the bytes equal what
//! serde would write (tests prove it); base64 is written with a two-character table.

/// Writes `s` as a JSON string (quotes included), escaped as serde_json does: `"` `\` and
/// control characters only; everything else, non-ASCII included, is copied as is.
pub fn string(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    escaped(out, s);
    out.push(b'"');
}

/// The inside of a JSON string: `s` with serde_json's escaping, no quotes.
pub fn escaped(out: &mut Vec<u8>, s: &str) {
    escaped_utf8(out, s.as_bytes());
}

/// [`escaped`] for bytes known to be UTF-8 (e.g. JSON written by this module, embedded as a
/// string value); only ASCII bytes are ever escaped, so multi-byte characters pass through.
/// Runs without anything to escape are found eight bytes at a time and copied in one go.
pub fn escaped_utf8(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut start = 0;
    let mut i = 0;
    while let Some(word) = bytes.get(i..i + 8) {
        let mask = escape_mask(u64::from_le_bytes(word.try_into().expect("8 bytes")));
        if mask == 0 {
            i += 8;
            continue;
        }
        // The lowest flagged byte is always a real match (borrows only run upwards).
        i += (mask.trailing_zeros() / 8) as usize;
        out.extend_from_slice(&bytes[start..i]);
        escape_byte(out, bytes[i]);
        i += 1;
        start = i;
    }
    for (j, &b) in bytes.iter().enumerate().skip(i) {
        if b < 0x20 || b == b'"' || b == b'\\' {
            out.extend_from_slice(&bytes[start..j]);
            escape_byte(out, b);
            start = j + 1;
        }
    }
    out.extend_from_slice(&bytes[start..]);
}

/// The high bit of every byte of `w` (little-endian) that is `"`, `\` or below 0x20; bytes
/// above the lowest match may be flagged falsely.
pub(crate) fn escape_mask(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
    below_space | zero_byte(w ^ (ONES * b'"' as u64)) | zero_byte(w ^ (ONES * b'\\' as u64))
}

fn escape_byte(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match b {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0c => out.extend_from_slice(b"\\f"),
        _ => out.extend_from_slice(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[(b >> 4) as usize],
            HEX[(b & 0xf) as usize],
        ]),
    }
}

/// Writes a JSON array of strings.
pub fn strings<S: AsRef<str>>(out: &mut Vec<u8>, items: &[S]) {
    out.push(b'[');
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(out, s.as_ref());
    }
    out.push(b']');
}

/// Writes a JSON array of strings, or `null` when absent.
pub fn opt_strings<S: AsRef<str>>(out: &mut Vec<u8>, items: Option<&[S]>) {
    match items {
        Some(v) => strings(out, v),
        None => out.extend_from_slice(b"null"),
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Every pair of base64 characters for a 12-bit value, so three input bytes take two lookups.
static B64_PAIRS: [[u8; 2]; 4096] = {
    let mut t = [[0u8; 2]; 4096];
    let mut i = 0;
    while i < 4096 {
        t[i] = [B64[i >> 6], B64[i & 63]];
        i += 1;
    }
    t
};

/// Appends the standard, padded base64 encoding of `data` (RFC 4648 §4): six input bytes
/// (four 12-bit table lookups) per step.
pub fn base64(out: &mut Vec<u8>, data: &[u8]) {
    let at = out.len();
    out.resize(at + data.len().div_ceil(3) * 4, b'=');
    let dst = &mut out[at..];
    let (body, tail) = dst.split_at_mut(data.len() / 6 * 8);
    let mut sixes = data.chunks_exact(6);
    for (c, d) in (&mut sixes).zip(body.chunks_exact_mut(8)) {
        let n = u64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], 0, 0]);
        let pair = |shift: u32| B64_PAIRS[(n >> shift) as usize & 0xfff];
        let (a, b, c, e) = (pair(52), pair(40), pair(28), pair(16));
        d.copy_from_slice(&[a[0], a[1], b[0], b[1], c[0], c[1], e[0], e[1]]);
    }
    let rest = sixes.remainder();
    let (three, last) = rest.split_at(rest.len() / 3 * 3);
    if let [a, b, c] = *three {
        let n = (a as usize) << 16 | (b as usize) << 8 | c as usize;
        tail[..2].copy_from_slice(&B64_PAIRS[n >> 12]);
        tail[2..4].copy_from_slice(&B64_PAIRS[n & 0xfff]);
    }
    let tail = &mut tail[three.len() / 3 * 4..];
    match *last {
        [a] => tail[..2].copy_from_slice(&B64_PAIRS[(a as usize) << 4]),
        [a, b] => {
            let n = (a as usize) << 10 | (b as usize) << 2;
            tail[..2].copy_from_slice(&B64_PAIRS[n >> 6]);
            tail[2] = B64[n & 63];
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use proptest::prelude::*;

    fn to_string(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn base64_edges() {
        for s in [
            "",
            "f",
            "fo",
            "foo",
            "foob",
            "fooba",
            "foobar",
            "foobarb",
            "foobarba",
            "foobarbaz",
        ] {
            let want = base64::engine::general_purpose::STANDARD.encode(s);
            assert_eq!(to_string(|o| base64(o, s.as_bytes())), want, "{s:?}");
        }
    }

    proptest! {
        #[test]
        fn strings_are_what_serde_writes(s in any::<String>()) {
            prop_assert_eq!(to_string(|o| string(o, &s)), serde_json::to_string(&s).unwrap());
        }

        #[test]
        fn control_and_quote_heavy_strings(s in "[\\x00-\\x1f\"\\\\a-z\u{e9}\u{1F600}]{0,40}") {
            prop_assert_eq!(to_string(|o| string(o, &s)), serde_json::to_string(&s).unwrap());
        }

        #[test]
        fn base64_is_standard(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let want = base64::engine::general_purpose::STANDARD.encode(&data);
            prop_assert_eq!(to_string(|o| base64(o, &data)), want);
        }
    }
}
