//! `respawn-webhook inject` as a library, on fixture files (`tests/fixtures/offline/`): one
//! golden output per kind (`NAME.injected.yaml`; `RESPAWN_BLESS=1` rewrites them), injecting an
//! output again changes nothing, and every injected pod template is exactly what the webhook's
//! router makes of the pod the apiserver would create from it.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::*;
use k8s_openapi::api::core::v1::Pod;
use respawn_webhook::offline::{Injected, Injector, Input, Outcome, Selection, inject, kinds, output};
use serde_json::{Value, json};

/// Every fixture: the kinds, a List, and what passes through.
const FIXTURES: [&str; 10] = [
    "pod.yaml",
    "deployment.yaml",
    "statefulset.yaml",
    "daemonset.yaml",
    "replicaset.yaml",
    "replicationcontroller.yaml",
    "job.yaml",
    "cronjob.yaml",
    "list.json",
    "mixed.yaml",
];

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/offline")
}

fn read(name: &str) -> Input {
    let text = std::fs::read_to_string(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    Input {
        name: name.into(),
        text,
    }
}

fn golden_name(name: &str) -> String {
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    format!("{stem}.injected.yaml")
}

/// The injector the fixtures are written for: the test images, namespace `dev` enabled.
fn injector() -> Injector {
    Injector {
        state: state(Arc::new(images())),
        selection: Selection {
            all: false,
            namespaces: ["dev".to_string()].into(),
        },
        namespace: "default".into(),
    }
}

async fn run(input: Input) -> (String, Injected) {
    let done = injector().run(&[input]).await.unwrap_or_else(|e| panic!("{e:?}"));
    (output::yaml(&done.documents).unwrap(), done)
}

#[tokio::test]
async fn every_kind_matches_its_golden_file() {
    let bless = std::env::var_os("RESPAWN_BLESS").is_some();
    for name in FIXTURES {
        let (text, done) = run(read(name)).await;
        let golden = dir().join(golden_name(name));
        if bless {
            std::fs::write(&golden, &text).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&golden)
            .unwrap_or_else(|e| panic!("{}: {e} (RESPAWN_BLESS=1 writes it)", golden.display()));
        assert_eq!(text, want, "{name}: output differs from {}", golden.display());
        let injected = done
            .reports
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Injected { .. }))
            .count();
        assert!(injected >= 1, "{name}: nothing injected: {:?}", done.reports);
    }
}

#[tokio::test]
async fn the_kinds_and_what_passes_through() {
    let (_, done) = run(read("mixed.yaml")).await;
    let lines = output::report_lines(&done.reports, false);
    let want = [
        "mixed.yaml, document 2 (Deployment prod/plain): unchanged: not opted in",
        "mixed.yaml, document 4 (Pod kube-system/system): unchanged: namespace kube-system is never injected",
        "mixed.yaml, document 5 (Pod dev/done): unchanged: already injected",
        "mixed.yaml, document 7 (Pod dev/in-dev): injected (containers: app)",
    ];
    assert_eq!(lines.len(), want.len(), "{lines:#?}");
    for (line, want) in lines.iter().zip(want) {
        assert!(line.starts_with(want), "{line:?} does not start with {want:?}");
    }
    // Documents 1, 3 (empty, dropped) and 6 (a custom "Deployment") are not pods; every
    // document that is not injected is written unchanged, in order.
    let input = respawn_webhook::offline::input::documents(&read("mixed.yaml")).unwrap();
    assert_eq!(done.documents.len(), 6);
    for (before, after) in input.iter().zip(&done.documents) {
        assert_eq!(before.at, after.at);
        if before.at.document != 7 {
            assert_eq!(before.value, after.value, "{} changed", before.at);
        }
    }
    let (_, list) = run(read("list.json")).await;
    let lines = output::report_lines(&list.reports, false);
    assert!(
        lines[0].starts_with("list.json, document 1, item 1 (Pod listed): injected"),
        "{lines:?}"
    );
    assert!(
        lines[1].contains("item 3 (Deployment opted-out): unchanged: opted out"),
        "{lines:?}"
    );
    assert_eq!(kinds::covered().count(), 8);
}

#[tokio::test]
async fn injecting_an_injected_document_changes_nothing() {
    for name in FIXTURES {
        let (once, _) = run(read(name)).await;
        let (twice, done) = run(Input {
            name: golden_name(name),
            text: once.clone(),
        })
        .await;
        assert_eq!(twice, once, "{name}: a second injection changed the output");
        assert!(
            done.reports
                .iter()
                .all(|r| !matches!(r.outcome, Outcome::Injected { .. })),
            "{name}: {:?}",
            done.reports
        );
    }
}

/// The pod the apiserver creates from a template (with its defaults), as a typed Pod's JSON.
fn as_created_pod(template: &Value, namespace: &str) -> Value {
    let mut pod: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": template.get("metadata").cloned().unwrap_or(json!({})),
        "spec": template["spec"],
    }))
    .unwrap();
    pod.metadata.namespace = Some(namespace.into());
    inject::apiserver_defaults(&mut pod);
    serde_json::to_value(pod).unwrap()
}

fn review_of(pod: &Value, namespace: &str) -> Value {
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "0d5b1a9e-offline", "operation": "CREATE", "namespace": namespace,
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "userInfo": {"username": "test"}, "object": pod
        }
    })
}

/// (pod template, namespace) of every pod-bearing document, Lists included.
fn templates(documents: &[Value]) -> Vec<(Value, String)> {
    let mut out = Vec::new();
    for d in documents {
        if let Some(items) = d.get("items").and_then(Value::as_array) {
            out.extend(templates(items));
            continue;
        }
        if let Some(path) = kinds::pod_path(d) {
            let ptr: String = path.iter().map(|t| format!("/{t}")).collect();
            let ns = d
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("default");
            out.push((d.pointer(&ptr).unwrap().clone(), ns.to_string()));
        }
    }
    out
}

#[tokio::test]
async fn every_injected_template_is_what_the_webhook_makes_of_its_pod() {
    let mut compared = 0;
    for name in FIXTURES {
        let input = respawn_webhook::offline::input::documents(&read(name)).unwrap();
        let (_, done) = run(read(name)).await;
        let before = templates(&input.into_iter().map(|d| d.value).collect::<Vec<_>>());
        let after = templates(&done.documents.into_iter().map(|d| d.value).collect::<Vec<_>>());
        for ((b, ns), (a, _)) in before.iter().zip(&after) {
            if a == b {
                continue;
            }
            let review = review_of(&as_created_pod(b, ns), ns);
            let resp = common::review(state(Arc::new(images())), review.to_string().into_bytes()).await;
            let by_webhook = patched(&review, &resp);
            assert_eq!(
                as_created_pod(a, ns),
                by_webhook,
                "{name}: the offline template and the webhook's pod differ"
            );
            compared += 1;
        }
    }
    assert_eq!(compared, 10, "every kind's injected pod was compared");
}

#[tokio::test]
async fn the_webhook_leaves_an_offline_injected_pod_alone() {
    let (_, done) = run(read("pod.yaml")).await;
    let pod = &done.documents[0].value;
    assert_eq!(pod["metadata"]["annotations"]["respawn.dev/status"], "injected");
    let resp = review(
        state(Arc::new(images())),
        review_of(pod, "dev").to_string().into_bytes(),
    )
    .await;
    assert_eq!(resp["allowed"], true);
    assert!(
        patch_of(&resp).is_none(),
        "the webhook patched an offline-injected pod: {resp}"
    );
}

#[tokio::test]
async fn inject_leaves_a_webhook_injected_pod_alone() {
    let review_in = fixture_json("replicaset-pod.json");
    let resp = review(state(Arc::new(images())), fixture("replicaset-pod.json")).await;
    let by_webhook = patched(&review_in, &resp);
    assert_eq!(
        by_webhook["metadata"]["annotations"]["respawn.dev/status"],
        "injected"
    );
    let mut everything = injector();
    everything.selection.all = true;
    let done = everything
        .run(&[Input {
            name: "stored-pod.json".into(),
            text: by_webhook.to_string(),
        }])
        .await
        .unwrap();
    assert_eq!(
        done.documents[0].value, by_webhook,
        "inject changed a webhook-injected pod"
    );
    assert_eq!(
        done.reports[0].outcome,
        Outcome::Unchanged {
            why: "already injected".into(),
            warnings: vec![]
        }
    );
}
