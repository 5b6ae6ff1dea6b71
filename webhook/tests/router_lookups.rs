//! Router `oneshot` tests of image lookups: failure policies (global and per pod), parallel
//! lookups, and the budget capped by the apiserver's timeout.

mod common;

use std::sync::Arc;

use common::*;
use http::StatusCode;
use respawn_webhook::{decision::FailurePolicy, decision::Injection, images::StaticProvider};
use serde_json::json;

#[tokio::test]
async fn lookup_failure_allow_admits_unchanged_with_a_warning() {
    let st = state(Arc::new(images()));
    let resp = review(st.clone(), fixture("unknown-image.json")).await;
    assert_eq!(resp["allowed"], true);
    assert!(resp.get("patch").is_none());
    let w = strings(&resp["warnings"]).join("\n");
    assert!(
        w.contains("\"web\"") && w.contains("registry.local/missing:1") && w.contains("not found"),
        "{w}"
    );
    let m = st.metrics.render();
    assert!(
        m.contains("respawn_webhook_image_lookups_total{outcome=\"not_found\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("respawn_webhook_pods_skipped_total{reason=\"lookup_failed\"} 1"),
        "{m}"
    );
}

#[tokio::test]
async fn lookup_failure_deny_names_container_image_and_cause() {
    let mut inj = Injection::with_image(SUPERVISOR);
    inj.on_lookup_failure = FailurePolicy::Deny;
    let st = state_with(Arc::new(images()), inj);
    let resp = review(st.clone(), fixture("unknown-image.json")).await;
    assert_eq!(resp["allowed"], false);
    assert_eq!(resp["status"]["code"], 403);
    let msg = resp["status"]["message"].as_str().unwrap();
    assert!(
        msg.contains("\"web\"") && msg.contains("registry.local/missing:1") && msg.contains("not found"),
        "{msg}"
    );
    assert!(
        st.metrics
            .render()
            .contains("respawn_webhook_pods_denied_total 1")
    );
}

#[tokio::test]
async fn per_pod_annotation_overrides_the_policy() {
    let mut input = fixture_json("unknown-image.json");
    input["request"]["object"]["metadata"]["annotations"] = json!({"respawn.dev/on-lookup-failure": "deny"});
    let resp = review(state(Arc::new(images())), serde_json::to_vec(&input).unwrap()).await;
    assert_eq!(resp["allowed"], false);
}

/// Answers only once `n` lookups are in flight at the same time: sequential lookups would
/// never get there and run into the budget.
struct Rendezvous {
    barrier: tokio::sync::Barrier,
    inner: StaticProvider,
}

#[async_trait::async_trait]
impl respawn_webhook::images::ImageConfigProvider for Rendezvous {
    async fn image_config(
        &self,
        req: &respawn_webhook::images::LookupRequest,
    ) -> respawn_webhook::images::Lookup {
        self.barrier.wait().await;
        self.inner.image_config(req).await
    }
}

#[tokio::test]
async fn lookups_of_a_pod_run_in_parallel() {
    let mut input = fixture_json("multi-container.json");
    input["request"]["object"]["spec"]["containers"][1]["image"] = json!("registry.local/web:1.0");
    let provider = Arc::new(Rendezvous {
        barrier: tokio::sync::Barrier::new(2),
        inner: images(),
    });
    let resp = review(state(provider), serde_json::to_vec(&input).unwrap()).await;
    assert!(resp["patch"].is_string(), "both lookups answered: {resp}");
}

#[tokio::test]
async fn lookup_budget_is_capped_by_the_apiserver_timeout() {
    let st = state(Arc::new(images().with_delay(std::time::Duration::from_secs(60))));
    let (status, json) = call(
        router(st),
        "POST",
        "/mutate?timeout=1s",
        fixture("replicaset-pod.json"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let w = strings(&json["response"]["warnings"]).join("\n");
    assert!(w.contains("did not finish within 750 ms"), "{w}");
    assert!(json["response"].get("patch").is_none());
}

/// Panics on its first lookup, then answers like the fixture images.
struct PanicsOnce {
    panicked: std::sync::atomic::AtomicBool,
    inner: StaticProvider,
}

#[async_trait::async_trait]
impl respawn_webhook::images::ImageConfigProvider for PanicsOnce {
    async fn image_config(
        &self,
        req: &respawn_webhook::images::LookupRequest,
    ) -> respawn_webhook::images::Lookup {
        if !self.panicked.swap(true, std::sync::atomic::Ordering::SeqCst) {
            panic!("a provider bug");
        }
        self.inner.image_config(req).await
    }
}

#[tokio::test]
async fn a_panic_is_answered_by_policy_and_the_next_admission_is_unaffected() {
    let provider = Arc::new(PanicsOnce {
        panicked: false.into(),
        inner: images(),
    });
    let st = state(provider.clone());
    let input = fixture_json("replicaset-pod.json");
    let (status, json) = call(
        router(st.clone()),
        "POST",
        "/mutate",
        fixture("replicaset-pod.json"),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "an AdmissionReview, not a dropped connection"
    );
    let resp = &json["response"];
    assert_eq!(resp["uid"], input["request"]["uid"]);
    assert_eq!(
        resp["allowed"], true,
        "the default policy (allow) admits unchanged"
    );
    assert!(resp.get("patch").is_none());
    let w = strings(&resp["warnings"]).join("\n");
    assert!(
        w.contains("internal error") && w.contains("a provider bug"),
        "{w}"
    );
    assert!(st.metrics.render().contains(r#"result="panic"} 1"#));
    // Nothing poisoned: the next admission is injected as usual.
    let resp = review(st.clone(), fixture("replicaset-pod.json")).await;
    assert!(patch_of(&resp).is_some(), "{resp}");
    // Under the deny policy a panic denies, naming the internal error.
    let mut inj = Injection::with_image(SUPERVISOR);
    inj.on_lookup_failure = FailurePolicy::Deny;
    let panics = Arc::new(PanicsOnce {
        panicked: false.into(),
        inner: images(),
    });
    let resp = review(state_with(panics, inj), fixture("replicaset-pod.json")).await;
    assert_eq!(resp["allowed"], false);
    assert!(
        resp["status"]["message"]
            .as_str()
            .unwrap()
            .contains("internal error")
    );
}

/// Counts how many lookups are inside at once; each waits (up to 2 s) for a second one.
struct Overlap {
    inside: std::sync::atomic::AtomicUsize,
    most: std::sync::atomic::AtomicUsize,
    second: tokio::sync::Notify,
    inner: StaticProvider,
}

#[async_trait::async_trait]
impl respawn_webhook::images::ImageConfigProvider for Overlap {
    async fn image_config(
        &self,
        req: &respawn_webhook::images::LookupRequest,
    ) -> respawn_webhook::images::Lookup {
        use std::sync::atomic::Ordering::SeqCst;
        let now = self.inside.fetch_add(1, SeqCst) + 1;
        self.most.fetch_max(now, SeqCst);
        // The first waits for a second lookup to overlap it; `notify_one` keeps the wake-up if the
        // second comes before the first waits. Without a second (the budget admits one body at a
        // time) the wait runs out: 3 s, so a loaded machine still lets a permitted second in —
        // inside the test's lookup budget (10 s), or the first request would answer and free its
        // share while its lookup still counts as inside.
        if now >= 2 {
            self.second.notify_one();
        } else {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(3), self.second.notified()).await;
        }
        self.inside.fetch_sub(1, SeqCst);
        self.inner.image_config(req).await
    }
}

#[tokio::test]
async fn bodies_in_flight_stay_within_the_memory_budget() {
    let body = fixture("replicaset-pod.json");
    for (budget, want) in [(body.len(), 1), (4 * body.len(), 2)] {
        let provider = Arc::new(Overlap {
            inside: 0.into(),
            most: 0.into(),
            second: tokio::sync::Notify::new(),
            inner: images(),
        });
        let shared = Arc::into_inner(state(provider.clone())).expect("a new state has one owner");
        let state = Arc::new(respawn_webhook::admission::AppState {
            lookup_budget: std::time::Duration::from_secs(10),
            ..shared
        });
        let app = respawn_webhook::admission::router(state, body.len(), budget);
        let send = || call(app.clone(), "POST", "/mutate", body.clone());
        let (a, b) = tokio::join!(send(), send());
        assert_eq!((a.0, b.0), (StatusCode::OK, StatusCode::OK));
        let most = provider.most.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(most, want, "budget {budget} bytes for {}-byte bodies", body.len());
    }
}
