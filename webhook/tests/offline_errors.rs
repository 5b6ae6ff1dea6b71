//! `respawn-webhook inject` as a library, when things go wrong: unreadable documents and invalid
//! pod templates name their input and document, every error of a run is reported (and nothing
//! is returned to write), a failed lookup follows the lookup-failure policy and names the image.

mod common;

use std::sync::Arc;

use common::*;
use respawn_webhook::offline::{InjectError, Injector, Input, Outcome, Selection};

fn injector() -> Injector {
    Injector {
        state: state(Arc::new(images())),
        selection: Selection {
            all: true,
            ..Default::default()
        },
        namespace: "default".into(),
    }
}

fn input(name: &str, text: &str) -> Input {
    Input {
        name: name.into(),
        text: text.into(),
    }
}

const GOOD_POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: ok}\nspec:\n  containers:\n  - {name: a, image: registry.local/app:3}\n";

#[tokio::test]
async fn every_error_names_its_input_and_document_and_nothing_is_returned() {
    let bad_yaml = "kind: ConfigMap\napiVersion: v1\n---\nkind: [\n";
    let no_containers = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: dev}\nspec:\n  template:\n    spec: {containers: oops}\n";
    let no_template =
        "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: nightly}\nspec: {schedule: '* * * * *'}\n";
    let errors = injector()
        .run(&[
            input("good.yaml", GOOD_POD),
            input("bad.yaml", bad_yaml),
            input("deploy.yaml", no_containers),
            input("cron.yaml", no_template),
        ])
        .await
        .expect_err("the run must fail");
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 3, "{text:#?}");
    assert!(
        matches!(&errors[0], InjectError::Parse { at, .. } if at.source == "bad.yaml" && at.document == 2),
        "{text:#?}"
    );
    assert!(
        text[0].starts_with("bad.yaml, document 2: invalid YAML"),
        "{}",
        text[0]
    );
    assert!(
        text[1].starts_with("deploy.yaml, document 1 (Deployment dev/web): not a valid pod (template)")
            && text[1].contains("expected a sequence"),
        "{}",
        text[1]
    );
    assert_eq!(
        text[2],
        "cron.yaml, document 1 (CronJob nightly): no pod template at .spec.jobTemplate.spec.template"
    );
}

#[tokio::test]
async fn a_failed_lookup_under_deny_is_an_error_naming_container_and_image() {
    let pod = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: p\n    annotations: {respawn.dev/on-lookup-failure: deny}\n  spec:\n    containers:\n    - {name: app, image: registry.local/missing:1}\n";
    let errors = injector().run(&[input("list.yaml", pod)]).await.unwrap_err();
    assert_eq!(errors.len(), 1);
    let text = errors[0].to_string();
    assert!(
        text.starts_with("list.yaml, document 1, item 1 (Pod p): denied: respawn: cannot wrap container \"app\" (image \"registry.local/missing:1\")"),
        "{text}"
    );
}

#[tokio::test]
async fn a_failed_lookup_under_allow_leaves_the_document_unchanged_with_a_warning() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: app, image: registry.local/missing:1}\n";
    let done = injector()
        .run(&[input("p.yaml", text), input("ok.yaml", GOOD_POD)])
        .await
        .unwrap();
    let original = respawn_webhook::offline::input::documents(&input("p.yaml", text)).unwrap();
    assert_eq!(done.documents[0].value, original[0].value);
    match &done.reports[0].outcome {
        Outcome::Unchanged { why, warnings } => {
            assert!(why.contains("lookup failed"), "{why}");
            assert_eq!(warnings.len(), 1, "{warnings:?}");
            assert!(
                warnings[0].contains("\"registry.local/missing:1\"")
                    && warnings[0].ends_with("; left unchanged"),
                "{warnings:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(done.reports[1].outcome, Outcome::Injected { .. }),
        "the other input still is"
    );
}

#[tokio::test]
async fn documents_without_pods_are_not_looked_at() {
    // Not a pod-bearing kind, so no template is required and nothing is validated.
    let text = "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n---\nkind: Deployment\nmetadata: {name: no-api-version}\n";
    let done = injector().run(&[input("s.yaml", text)]).await.unwrap();
    assert!(done.reports.is_empty());
    assert_eq!(done.documents.len(), 2);
}
