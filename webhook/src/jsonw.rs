//! Writing JSON straight into a byte buffer, for the admission hot path: the patch, the
//! original-argv annotation and the response are written once, without building
//! `serde_json::Value` trees (each a heap of maps and strings built only to be serialized and
//! dropped). Strings are escaped exactly as serde_json escapes them, so the bytes equal what
//! serde would write (tests prove it).

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
///
/// The clean prefix — all of most strings — is found eight bytes at a time and copied in one
/// go. From the first byte that needs escaping on, the rest goes byte by byte through a table:
/// strings that need escaping at all tend to need it densely (JSON embedded in a string, the
/// original-argv annotation, is a quote every few bytes), where a copy call per run costs more
/// than it saves.
pub fn escaped_utf8(out: &mut Vec<u8>, bytes: &[u8]) {
    let i = clean_prefix(bytes);
    out.extend_from_slice(&bytes[..i]);
    if i == bytes.len() {
        return;
    }
    out.reserve(bytes.len() - i + 16);
    for &b in &bytes[i..] {
        if NEEDS_ESCAPE[b as usize] {
            escape_byte(out, b);
        } else {
            out.push(b);
        }
    }
}

/// Length of the prefix of `bytes` that needs no escaping (eight bytes at a time).
fn clean_prefix(bytes: &[u8]) -> usize {
    let mut i = 0;
    while let Some(word) = bytes.get(i..i + 8) {
        // The reader's mask: the bytes JSON escapes end a string's clean run there too.
        let mask = crate::fastjson::special_mask(u64::from_le_bytes(word.try_into().expect("8 bytes")));
        if mask != 0 {
            // The lowest flagged byte is always a real match (borrows only run upwards).
            return i + (mask.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < bytes.len() && !NEEDS_ESCAPE[bytes[i] as usize] {
        i += 1;
    }
    i
}

/// The bytes serde_json escapes in a string: `"`, `\` and the control characters.
static NEEDS_ESCAPE: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = b < 0x20 || b == b'"' as usize || b == b'\\' as usize;
        b += 1;
    }
    t
};

/// The high bit of every byte of `w` (little-endian) that is `"`, `\` or below 0x20; bytes
/// above the lowest match may be flagged falsely. The straightforward form, kept as the
/// reference the reader's regrouped `special_mask` is tested against.
#[cfg(test)]
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

/// Writes `s` as a JSON string inside a JSON string (JSON text embedded as a string value):
/// what [`string`] writes, escaped once more.
pub fn nested_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(b"\\\"");
    if clean_prefix(s.as_bytes()) == s.len() {
        // Nothing to escape once, so nothing to escape twice.
        out.extend_from_slice(s.as_bytes());
    } else {
        let mut once = Vec::with_capacity(s.len() + 8);
        escaped(&mut once, s);
        escaped_utf8(out, &once);
    }
    out.extend_from_slice(b"\\\"");
}

/// A JSON array of strings, or `null`, inside a JSON string (see [`nested_string`]).
pub fn nested_strings<S: AsRef<str>>(out: &mut Vec<u8>, items: Option<&[S]>) {
    match items {
        Some(v) => array(out, v, nested_string),
        None => out.extend_from_slice(b"null"),
    }
}

/// Writes a JSON array of strings.
pub fn strings<S: AsRef<str>>(out: &mut Vec<u8>, items: &[S]) {
    array(out, items, string);
}

/// `[item,item,…]`, each written by `each`.
fn array<S: AsRef<str>>(out: &mut Vec<u8>, items: &[S], each: fn(&mut Vec<u8>, &str)) {
    out.push(b'[');
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        each(out, s.as_ref());
    }
    out.push(b']');
}

/// Appends the standard, padded base64 encoding of `data` (RFC 4648 §4), with the SIMD
/// encoder of `base64-simd` (AVX2/SSE/NEON chosen at run time): the patch is the largest part
/// of an answer, and a scalar table encoder spent ≈ 5 instructions per byte on it.
pub fn base64(out: &mut Vec<u8>, data: &[u8]) {
    let at = out.len();
    out.resize(at + base64_simd::STANDARD.encoded_length(data.len()), 0);
    // The returned slice is the whole destination, already in place.
    let _ = base64_simd::STANDARD.encode(data, base64_simd::Out::from_slice(&mut out[at..]));
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
        fn nested_strings_are_a_json_string_of_the_json_string(s in "[\\x00-\\x1f\"\\\\a-z\u{e9}\u{1F600}]{0,40}") {
            let once = serde_json::to_string(&s).unwrap();
            let twice = serde_json::to_string(&once).unwrap();
            prop_assert_eq!(to_string(|o| nested_string(o, &s)), twice[1..twice.len() - 1].to_string());
            let list = vec![s.clone(), "plain".to_string()];
            let once = serde_json::to_string(&list).unwrap();
            let twice = serde_json::to_string(&once).unwrap();
            prop_assert_eq!(
                to_string(|o| nested_strings(o, Some(&list[..]))),
                twice[1..twice.len() - 1].to_string()
            );
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
