//! What the fast reader's tests share: the contract checked against serde_json, the fixtures,
//! and Go's escaping.
#![allow(dead_code)]

use respawn_webhook::{fastjson::pod_review, review::PodReviewIn};

pub fn serde_view(body: &[u8]) -> Option<PodReviewIn<'_>> {
    serde_json::from_slice(body).ok()
}

/// The contract: an answer from the reader is serde's answer.
pub fn check_agrees(body: &[u8]) -> Option<PodReviewIn<'_>> {
    let fast = pod_review(body);
    if let Some(v) = &fast {
        let reference = serde_json::from_slice::<PodReviewIn>(body);
        assert_eq!(
            Some(v),
            reference.as_ref().ok(),
            "the reader accepted what serde reads differently ({:?}) in {}",
            reference.as_ref().err(),
            String::from_utf8_lossy(body)
        );
    }
    fast
}

pub fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    assert!(out.len() >= 10, "fixtures missing");
    out
}

/// What Go's encoding/json (and so the apiserver) writes for these characters, which appear in
/// JSON text only inside strings: `\u0026` for `&` and so on. serde_json never writes them.
pub fn go_escape(json: &str) -> String {
    json.replace('&', "\\u0026")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('é', "\\u00e9")
        .replace('😀', "\\ud83d\\ude00")
        .replace('/', "\\/")
}
