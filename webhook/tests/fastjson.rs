//! The hot-path reader (`fastjson::pod_review`) against serde_json, the reference: whenever the
//! reader answers, serde must give the same view for the same bytes; and on ordinary reviews
//! (every fixture, generated reviews, Go's escaping) the reader must answer, or the fast path
//! would silently never run.

use proptest::prelude::*;
use respawn_webhook::{fastjson::pod_review, review::PodReviewIn};
use serde_json::{Value, json};

#[path = "common/fastjson.rs"]
mod agree;
use agree::*;

#[test]
fn every_fixture_is_read_as_serde_reads_it() {
    for (name, raw) in fixtures() {
        let compact = serde_json::from_slice::<Value>(&raw)
            .ok()
            .map(|v| serde_json::to_vec(&v).unwrap());
        for body in std::iter::once(raw.clone()).chain(compact) {
            let fast = check_agrees(&body);
            assert_eq!(
                fast.is_some(),
                serde_view(&body).is_some(),
                "{name}: the reader must answer exactly when serde can"
            );
        }
    }
}

#[test]
fn go_escapes_and_surrogate_pairs_decode() {
    let args = [
        "sh",
        "-c",
        "a && b </dev/null > /tmp/x",
        "caf\u{e9} \u{1F600}",
        "q\"b\\s\n\t\u{1}",
    ];
    let review = json!({"request": {"uid": "u/1", "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "operation": "CREATE", "object": {"metadata": {"annotations": {"a/b": "<&>"}},
        "spec": {"containers": [{"name": "c", "image": "r/i:1", "args": args}]}}}});
    let text = go_escape(&serde_json::to_string(&review).unwrap());
    assert!(text.contains("\\u0026\\u0026") && text.contains("\\ud83d\\ude00") && text.contains("\\/"));
    let fast = check_agrees(text.as_bytes()).expect("the reader decodes Go's escapes");
    let pod = fast.request.unwrap().object.unwrap();
    assert_eq!(pod.spec.unwrap().containers[0].args.as_deref().unwrap(), args);
    assert_eq!(pod.metadata.annotations.unwrap()["a/b"], "<&>");
}

#[test]
fn declines_what_serde_rejects_or_reads_otherwise() {
    let ok = r#"{"request":{"uid":"u","kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE","object":{"spec":{"containers":[{"name":"c","x":[1,-2.5e3,true,null,{}]}]}}}}"#;
    assert!(check_agrees(ok.as_bytes()).is_some());
    let skipped_members = ok.replace("null,{}", r#"null,{"a":1,"b\n":{"c":[]}}"#);
    assert!(check_agrees(skipped_members.as_bytes()).is_some());
    let deep_ok = format!(r#"{{"x":{}1{}}}"#, "[".repeat(90), "]".repeat(90));
    let cases = [
        ok.replace(r#""uid":"u""#, r#""uid":"u","uid":"v""#),
        ok.replace(r#""name":"c""#, r#""name":"c","name":"d""#),
        ok.replace(r#""operation":"CREATE""#, r#""operation":"create""#),
        ok.replace(r#""uid":"u""#, r#""uid":null"#),
        ok.replace(r#""uid":"u""#, r#""uid":"\ud800""#),
        ok.replace(r#""uid":"u""#, r#""uid":"\udc00x""#),
        ok.replace(r#""uid":"u""#, "\"uid\":\"a\u{1}b\""),
        ok.replace(r#""uid":"u""#, r#""uid":"\x""#),
        ok.replace("2.5e3", "01"),
        ok.replace("2.5e3", "1."),
        ok.replace("2.5e3", "1e"),
        ok.replace("true", "tru"),
        ok.replace(r#",true"#, ",true,"),
        ok.replace(r#""kind":"Pod""#, r#""kind":"Pod","kind":"Pod""#),
        ok.replace(r#""containers":[{"#, r#""containers":null,"c":[{"#),
        // A key must be followed by a colon, in members read and in objects skipped.
        ok.replace(r#""name":"c""#, r#""name","c""#),
        ok.replace(r#""uid":"u""#, r#""uid""u""#),
        ok.replace("null,{}", r#"null,{"a",1}"#),
        ok.replace("null,{}", r#"null,{"a"1}"#),
        ok.replace("null,{}", r#"null,{"a":1,"b"}"#),
        ok.replace(
            "null,{}",
            r#"null,{"a":1,"b
":2}"#,
        ),
        format!("{ok} x"),
        ok[..ok.len() - 1].to_string(),
        format!(
            r#"{{"x":{}1{},"request":null}}"#,
            "[".repeat(150),
            "]".repeat(150)
        ),
    ];
    for case in &cases {
        assert!(check_agrees(case.as_bytes()).is_none(), "must decline: {case}");
    }
    assert_eq!(
        check_agrees(deep_ok.as_bytes()),
        Some(PodReviewIn { request: None })
    );
}

#[test]
fn invalid_utf8_is_declined() {
    let body = b"{\"request\":null,\"x\":\"\xff\"}";
    assert!(pod_review(body).is_none());
}

fn text() -> impl Strategy<Value = String> {
    "[a-z0-9 /&<>\"\\\\\n\t\r\u{1}\u{8}\u{c}\u{e9}\u{1F600}~.=$()-]{0,12}"
}

fn unknown() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e9f64..1e9).prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(text(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn strings() -> impl Strategy<Value = Option<Vec<String>>> {
    prop::option::of(prop::collection::vec(text(), 0..4))
}

fn container() -> impl Strategy<Value = Value> {
    (
        text(),
        prop::option::of(text()),
        strings(),
        strings(),
        prop::option::of(prop::collection::vec(text(), 0..3)),
        unknown(),
    )
        .prop_map(|(name, image, command, args, env, extra)| {
            let mut c = json!({"name": name, "resources": extra, "ports": [{"containerPort": 80}]});
            if let Some(i) = image {
                c["image"] = i.into();
            }
            if let Some(v) = command {
                c["command"] = v.into();
            }
            if let Some(v) = args {
                c["args"] = v.into();
            }
            if let Some(v) = env {
                c["env"] = v.into_iter().map(|n| json!({"name": n, "value": "x"})).collect();
                c["volumeMounts"] = json!([{"name": "v", "mountPath": "/m", "readOnly": true}]);
            }
            c
        })
}

fn review() -> impl Strategy<Value = Value> {
    let labels = || prop::option::of(prop::collection::btree_map(text(), text(), 0..4));
    (
        text(),
        prop::sample::select(vec!["CREATE", "UPDATE", "DELETE", "CONNECT"]),
        labels(),
        labels(),
        prop::collection::vec(container(), 0..3),
        prop::option::of(prop::collection::vec(container(), 0..2)),
        unknown(),
    )
        .prop_map(|(uid, op, labels, annotations, containers, init, extra)| {
            let mut meta = json!({"generateName": "w-", "creationTimestamp": null, "managedFields": [extra.clone()]});
            if let Some(l) = labels {
                meta["labels"] = json!(l);
            }
            if let Some(a) = annotations {
                meta["annotations"] = json!(a);
            }
            let mut spec = json!({"containers": containers, "volumes": [{"name": "v", "emptyDir": {}}],
                "nodeSelector": {"kubernetes.io/os": "linux"}, "os": {"name": "linux"},
                "imagePullSecrets": [{"name": "s"}], "serviceAccountName": "sa", "tolerations": extra.clone()});
            if let Some(i) = init {
                spec["initContainers"] = i.into();
            }
            json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
                "uid": uid, "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "resource": {"group": "", "version": "v1", "resource": "pods"}, "namespace": "dev",
                "operation": op, "userInfo": {"username": "u", "extra": extra},
                "object": {"kind": "Pod", "apiVersion": "v1", "metadata": meta, "spec": spec, "status": {}}}})
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn generated_reviews_are_read_as_serde_reads_them(r in review(), pretty in any::<bool>(), go in any::<bool>()) {
        let mut text = if pretty { serde_json::to_string_pretty(&r) } else { serde_json::to_string(&r) }.unwrap();
        if go {
            text = go_escape(&text);
        }
        let fast = check_agrees(text.as_bytes());
        prop_assert!(fast.is_some(), "the reader declined an ordinary review: {}", text);
    }

    #[test]
    fn mutated_bodies_never_read_differently(
        which in 0usize..64,
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..4, prop::sample::select(b"{}[],:\"\\ 0-9aeflnrstu\x01\xc3".to_vec())), 1..4),
    ) {
        let all = fixtures();
        let (_, raw) = &all[which % all.len()];
        let mut body = if which % 2 == 0 {
            raw.clone()
        } else {
            serde_json::from_slice::<Value>(raw).map(|v| serde_json::to_vec(&v).unwrap()).unwrap_or_else(|_| raw.clone())
        };
        for (at, kind, byte) in edits {
            if body.is_empty() {
                break;
            }
            let i = at.index(body.len());
            match kind {
                0 => { body.remove(i); }
                1 => body.insert(i, byte),
                2 => body[i] = byte,
                _ => body.truncate(i),
            }
        }
        check_agrees(&body);
    }
}
