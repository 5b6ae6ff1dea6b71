//! The hot-path reader against serde_json at the edges of its scanners: keys at the end of the
//! body and around their colon, strings of every length at every offset of a step, bad bytes
//! anywhere, every prefix of a body, and whitespace between every token.

use respawn_webhook::review::PodReviewIn;
use serde_json::Value;

#[path = "common/fastjson.rs"]
mod agree;
use agree::*;

/// A read member's key is split from the body at its closing quote, and the two bytes after
/// it (`:` and the value's first byte) are read at once: a key that ends the body, or is
/// followed by only part of that, declines; whitespace or a missing colon take the slow path.
#[test]
fn keys_at_the_end_of_the_body_and_around_their_colon() {
    for body in [
        r#"{"request"#,
        r#"{"request""#,
        r#"{"request":"#,
        r#"{"request": "#,
        r#"{"request" "#,
        r#"{"request"}"#,
        r#"{"request"null}"#,
        r#"{"request";null}"#,
    ] {
        assert!(check_agrees(body.as_bytes()).is_none(), "must decline: {body}");
    }
    let ok =
        r#"{"request":{"uid":"u","kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE"}}"#;
    assert!(check_agrees(ok.as_bytes()).is_some());
    for (from, to) in [
        (r#""uid":"u""#, r#""uid": "u""#),
        (r#""uid":"u""#, r#""uid" :"u""#),
        (r#""uid":"u""#, "\"uid\":\n\"u\""),
        (r#""uid":"u""#, r#""u\u0069d":"u""#),
        (r#""request":{"#, r#""request": {"#),
    ] {
        let body = ok.replace(from, to);
        assert!(check_agrees(body.as_bytes()).is_some(), "must read: {body}");
    }
    // Keys with escapes are decoded into a 32-byte buffer: a known name is still known (and
    // still counts for duplicates), a longer key is unknown at every length around the limit.
    let escaped = ok.replace(r#""uid":"u""#, r#""u\u0069d":"u","ui\u0064":"v""#);
    assert!(
        check_agrees(escaped.as_bytes()).is_none(),
        "must decline: {escaped}"
    );
    for len in 28..40 {
        let key = format!(r"\u0075{}", "i".repeat(len - 1));
        let body = ok.replace(r#""uid":"u""#, &format!(r#""uid":"u","{key}":{{"uid":1}}"#));
        assert!(check_agrees(body.as_bytes()).is_some(), "must read: {body}");
    }
    // The value's first byte is the body's last but one.
    assert_eq!(
        check_agrees(br#"{"kind":1}"#),
        Some(PodReviewIn { request: None })
    );
}

/// A review whose `uid` (read), `image` (read, inside a list), an unknown member (key and
/// value skipped) and a member of a skipped object (key and value) all hold `s`, after a `pad`
/// of `0..16` bytes so that the strings start at every offset of the reader's steps (sixteen
/// bytes on x86_64, eight elsewhere).
fn review_with(s: &str, pad: usize) -> String {
    let s = serde_json::to_string(s).unwrap();
    let s = &s[1..s.len() - 1];
    let pad = "p".repeat(pad);
    format!(
        r#"{{"pad":"{pad}","request":{{"uid":"{s}","kind":{{"group":"","version":"v1","kind":"Pod"}},"operation":"CREATE","{s}x":"{s}","object":{{"spec":{{"containers":[{{"name":"c","image":"{s}","y":["{s}"],"z":{{"{s}":"{s}","{s}y":1}}}}]}}}}}}}}"#
    )
}

#[test]
fn strings_of_every_length_at_every_offset() {
    // Up to 48 bytes: strings that end in the first, the second and a later 16-byte step.
    for len in 0..48 {
        for pad in 0..16 {
            let plain = "a".repeat(len);
            let body = review_with(&plain, pad);
            let fast = check_agrees(body.as_bytes()).expect("a plain review is read");
            assert_eq!(fast.request.unwrap().uid, plain);
            // An escape, a multi-byte character and a surrogate pair at every position: each
            // may straddle the boundary of a step.
            for special in ["\"", "\\", "/", "\n", "é", "😀", "&"] {
                for at in 0..=len {
                    let s = format!("{}{special}{}", &plain[..at], &plain[at..]);
                    let body = go_escape(&review_with(&s, pad));
                    let fast = check_agrees(body.as_bytes()).expect("an escaped string is read");
                    assert_eq!(fast.request.unwrap().uid, s);
                }
            }
        }
    }
}

#[test]
fn control_characters_and_bad_escapes_anywhere_decline() {
    for len in 0..20 {
        let plain = "a".repeat(len);
        for bad in ["\u{1}", "\u{1f}", "\t", "\\x", "\\u1g", "\\ud800", "\\udc00"] {
            for at in 0..=len {
                let s = format!("{}{bad}{}", &plain[..at], &plain[at..]);
                for pad in [0, 3, 7] {
                    let body = review_with("ok", pad);
                    // Put the bad string in each place: a read value, a skipped key, a skipped
                    // value (all three hold "ok" in `body`).
                    for (i, _) in body.match_indices("ok") {
                        let mut bad_body = body.clone();
                        bad_body.replace_range(i..i + 2, &s);
                        assert!(
                            check_agrees(bad_body.as_bytes()).is_none(),
                            "must decline: {bad_body}"
                        );
                    }
                }
            }
        }
    }
}

/// The last strings of a body end in its last few bytes, where the reader has fewer than eight
/// bytes left to look at; every prefix of a body is invalid JSON.
#[test]
fn body_ends_and_every_prefix() {
    for len in 0..20 {
        let tail = "t".repeat(len);
        for trailing in ["", " ", "\n\t \r"] {
            let body = format!(r#"{{"apiVersion":"v1","{tail}":"{tail}"}}{trailing}"#);
            assert_eq!(
                check_agrees(body.as_bytes()),
                Some(PodReviewIn { request: None }),
                "{body}"
            );
            // A control character or an escape in the last bytes.
            let bad = format!("{{\"apiVersion\":\"v1\",\"k\":\"{tail}\u{1}\"}}{trailing}");
            assert!(check_agrees(bad.as_bytes()).is_none(), "{bad}");
            let escaped = format!(r#"{{"apiVersion":"v1","k":"{tail}\n\u00e9"}}{trailing}"#);
            assert!(check_agrees(escaped.as_bytes()).is_some(), "{escaped}");
            for cut in 0..body.trim_end().len() {
                assert!(
                    check_agrees(&body.as_bytes()[..cut]).is_none(),
                    "{}",
                    &body[..cut]
                );
            }
        }
    }
    let (_, raw) = &fixtures()[0];
    let compact = serde_json::to_vec(&serde_json::from_slice::<Value>(raw).unwrap()).unwrap();
    for cut in 0..compact.len() {
        assert!(check_agrees(&compact[..cut]).is_none());
    }
}

/// Whitespace of every kind between every two tokens (serde's pretty printer writes only spaces
/// and newlines, and only in some places).
#[test]
fn whitespace_between_every_token() {
    for (name, raw) in fixtures() {
        let Ok(v) = serde_json::from_slice::<Value>(&raw) else {
            continue;
        };
        let compact = serde_json::to_string(&v).unwrap();
        for ws in [" ", "\t", "\r\n", " \n\t\r "] {
            let mut spaced = String::from(ws);
            let mut in_string = false;
            let mut escaped = false;
            for c in compact.chars() {
                let structural = !in_string && matches!(c, '{' | '}' | '[' | ']' | ',' | ':');
                if structural {
                    spaced.push_str(ws);
                }
                spaced.push(c);
                if structural {
                    spaced.push_str(ws);
                }
                if in_string {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        in_string = false;
                    }
                } else if c == '"' {
                    in_string = true;
                }
            }
            spaced.push_str(ws);
            let fast = check_agrees(spaced.as_bytes());
            assert_eq!(
                fast.is_some(),
                serde_view(spaced.as_bytes()).is_some(),
                "{name}: {spaced}"
            );
        }
    }
}
