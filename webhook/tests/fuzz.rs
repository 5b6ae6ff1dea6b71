//! Property/fuzz suite over the whole admission path: arbitrary bytes, structure-aware mutations
//! of real reviews, hostile query strings and huge pods. Properties: every request gets an HTTP
//! answer; a body the router accepts gets an `admission.k8s.io/v1` AdmissionReview; its uid is
//! the request's whenever `request.uid` is a readable string; and nothing panics (the handler's
//! panic guard would hide a panic behind an answer, so the `panic` result counter must stay 0).
//!
//! Bounded in `make test` (`FUZZ_CASES`, default 256 per property). The long run documented in
//! docs/webhook.md: `FUZZ_CASES=350000 cargo test --release -p respawn-webhook --test fuzz`
//! (three generated properties: 1.05 M cases).

mod common;

use std::sync::Arc;

use common::*;
use http::StatusCode;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use respawn_webhook::admission::{self, AppState};
use serde_json::{Value, json};

fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    })
}

/// The reviews every mutation starts from.
fn seeds() -> Vec<Value> {
    [
        "replicaset-pod.json",
        "multi-container.json",
        "pss-restricted.json",
        "init-and-volumes.json",
        "deployment.json",
        "already-injected.json",
        "windows.json",
        "unknown-image.json",
    ]
    .iter()
    .map(|f| fixture_json(f))
    .collect()
}

/// Checks one answer against the request body.
fn check(state: &AppState, body: &[u8], answer: &[u8]) -> Result<(), TestCaseError> {
    let review: Value = serde_json::from_slice(answer)
        .map_err(|e| TestCaseError::fail(format!("answer is not JSON: {e}")))?;
    prop_assert_eq!(&review["apiVersion"], "admission.k8s.io/v1");
    prop_assert_eq!(&review["kind"], "AdmissionReview");
    prop_assert!(review["response"]["allowed"].is_boolean());
    let sent: Option<Value> = serde_json::from_slice(body).ok();
    if let Some(uid) = sent
        .as_ref()
        .and_then(|v| v.get("request")?.get("uid")?.as_str().map(str::to_string))
    {
        prop_assert_eq!(
            review["response"]["uid"].as_str(),
            Some(uid.as_str()),
            "uid not echoed"
        );
    }
    let metrics = state.metrics.render();
    prop_assert!(
        !metrics.contains(r#"result="panic"} 1"#) && !metrics.contains(r#"result="panic"} 2"#),
        "the admission path panicked"
    );
    Ok(())
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A random JSON value, nested up to a few levels, with hostile leaves.
fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
        Just(json!("$(VAR)$$x\u{0}\u{1F600}")),
        Just(json!("99999999999999999999999h")),
        Just(json!("x".repeat(70_000))),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(".{0,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// One structural edit of a JSON document at a path chosen by `pick`.
#[derive(Debug, Clone)]
enum Edit {
    Replace(Value),
    Remove,
    Duplicate,
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        value().prop_map(Edit::Replace),
        Just(Edit::Remove),
        Just(Edit::Duplicate),
    ]
}

/// Applies `edit` at the `pick`-th node (pre-order) of `doc`.
fn apply(doc: &mut Value, pick: usize, edit: &Edit) {
    fn walk(v: &mut Value, left: &mut usize, edit: &Edit) -> bool {
        if *left == 0 {
            match edit {
                Edit::Replace(n) => *v = n.clone(),
                Edit::Remove => *v = Value::Null,
                Edit::Duplicate => {
                    let copy = v.clone();
                    *v = json!([copy.clone(), copy]);
                }
            }
            return true;
        }
        *left -= 1;
        match v {
            Value::Array(a) => a.iter_mut().any(|c| walk(c, left, edit)),
            Value::Object(o) => {
                if let (Edit::Remove, Some(k)) = (
                    edit,
                    o.keys().nth(left.saturating_sub(1) % o.len().max(1)).cloned(),
                ) {
                    if *left < o.len() {
                        o.remove(&k);
                        return true;
                    }
                }
                o.values_mut().any(|c| walk(c, left, edit))
            }
            _ => false,
        }
    }
    let mut left = pick;
    walk(doc, &mut left, edit);
}

#[test]
fn arbitrary_bytes_get_a_review() {
    let rt = rt();
    let state = state(Arc::new(images()));
    runner()
        .run(&prop::collection::vec(any::<u8>(), 0..512), |bytes| {
            let answer = rt.block_on(admission::review(&state, None, &bytes)).to_json();
            check(&state, &bytes, &answer)
        })
        .unwrap();
}

#[test]
fn mutated_real_reviews_get_a_review_echoing_the_uid() {
    let rt = rt();
    let state = state(Arc::new(images()));
    let seeds = seeds();
    let n = seeds.len();
    let strategy = (
        0..n,
        prop::collection::vec((0usize..400, edit()), 1..4),
        any::<u8>(),
    );
    runner()
        .run(&strategy, |(seed, edits, tail)| {
            let mut doc = seeds[seed].clone();
            for (pick, e) in &edits {
                apply(&mut doc, *pick, e);
            }
            let mut body = serde_json::to_vec(&doc).unwrap();
            // Now and then a textual fault on top: a truncated body or a flipped byte.
            match tail % 8 {
                0 => body.truncate(body.len() * usize::from(tail) / 256),
                1 if !body.is_empty() => {
                    let at = usize::from(tail) % body.len();
                    body[at] ^= 0x20;
                }
                _ => {}
            }
            let answer = rt.block_on(admission::review(&state, None, &body)).to_json();
            check(&state, &body, &answer)
        })
        .unwrap();
}

#[test]
fn hostile_query_strings_get_a_review() {
    let rt = rt();
    let state = state(Arc::new(images()));
    let body = fixture("replicaset-pod.json");
    let query = prop_oneof![
        "timeout=[0-9]{1,30}(ns|us|ms|s|m|h){0,1}",
        "timeout=[0-9.e+-]{0,24}[a-zµ]{0,3}",
        "[a-z=&%0-9]{0,40}",
        Just("timeout=99999999999999999999999h".to_string()),
        Just("timeout=10000000000000000000s".to_string()),
    ];
    runner()
        .run(&query, |q| {
            let uri = format!("/mutate?{}", q.replace(['#', ' '], ""));
            let (status, json) = rt.block_on(call(router(Arc::clone(&state)), "POST", &uri, body.clone()));
            prop_assert_eq!(status, StatusCode::OK, "{}: {}", uri, json);
            check(&state, &body, &serde_json::to_vec(&json).unwrap())
        })
        .unwrap();
}

#[test]
fn huge_pods_are_answered() {
    let rt = rt();
    let state = state(Arc::new(images()));
    let mut doc = fixture_json("replicaset-pod.json");
    let c = doc["request"]["object"]["spec"]["containers"][0].clone();
    let many: Vec<Value> = (0..2000)
        .map(|i| {
            let mut c = c.clone();
            c["name"] = json!(format!("c{i}"));
            c["image"] = json!(format!("registry.local/unknown-{i}:1"));
            c
        })
        .collect();
    doc["request"]["object"]["spec"]["containers"] = json!(many);
    doc["request"]["object"]["metadata"]["annotations"] = json!({"big": "x".repeat(1 << 20)});
    let body = serde_json::to_vec(&doc).unwrap();
    let answer = rt.block_on(admission::review(&state, None, &body));
    let Some(warning) = (match &answer {
        admission::respond::Answer::Allow { warnings, .. } => warnings.first().cloned(),
        other => panic!("{other:?}"),
    }) else {
        panic!("no warning")
    };
    assert!(warning.contains("--max-image-lookups"), "{warning}");
    check(&state, &body, &answer.to_json()).unwrap();
    // Deeply nested JSON: serde_json's recursion limit answers, no stack overflow.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let answer = rt
        .block_on(admission::review(&state, None, deep.as_bytes()))
        .to_json();
    check(&state, deep.as_bytes(), &answer).unwrap();
}
