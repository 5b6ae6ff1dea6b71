//! Shared helpers for the webhook's integration tests: fixtures, a recording provider, the
//! router under test, and applying the returned patch.
#![allow(dead_code, missing_docs)]

use std::{
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Router, body::Body};
use base64::Engine;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use respawn_webhook::{
    admission::AppState,
    decision::Injection,
    images::{ImageConfigProvider, Lookup, LookupRequest, StaticProvider},
    server::metrics::Metrics,
};
use serde_json::Value;
use tower::ServiceExt;

pub const SUPERVISOR: &str = "registry.local/respawn-supervisor:0.1.0";

pub fn fixture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("fixture {}: {e}", p.display()))
}

pub fn fixture_json(name: &str) -> Value {
    serde_json::from_slice(&fixture(name)).expect("fixture is JSON")
}

/// The images the fixtures use.
pub fn images() -> StaticProvider {
    StaticProvider::new()
        .with(
            "registry.local/web:1.0",
            Some(&["/docker-entrypoint.sh", "$HOME/x"]),
            Some(&["nginx"]),
        )
        .with(
            "registry.local/app:3",
            None,
            Some(&["/bin/sh", "-c", "exec app --home=$HOME"]),
        )
        .with(
            &format!("registry.local/private/secure@sha256:{}", "ab".repeat(32)),
            Some(&["/secure"]),
            None,
        )
}

/// Wraps a provider and records every request.
pub struct Recording<P> {
    pub inner: P,
    pub seen: Mutex<Vec<LookupRequest>>,
}

impl<P> Recording<P> {
    pub fn new(inner: P) -> Arc<Self> {
        Arc::new(Recording {
            inner,
            seen: Mutex::new(Vec::new()),
        })
    }
    pub fn requests(&self) -> Vec<LookupRequest> {
        self.seen.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl<P: ImageConfigProvider> ImageConfigProvider for Recording<P> {
    async fn image_config(&self, req: &LookupRequest) -> Lookup {
        self.seen.lock().unwrap().push(req.clone());
        self.inner.image_config(req).await
    }
}

pub fn state_with(provider: Arc<dyn ImageConfigProvider>, injection: Injection) -> Arc<AppState> {
    Arc::new(AppState {
        injection,
        lookup_budget: Duration::from_secs(2),
        provider,
        metrics: Arc::new(Metrics::new()),
    })
}

pub fn state(provider: Arc<dyn ImageConfigProvider>) -> Arc<AppState> {
    state_with(provider, Injection::with_image(SUPERVISOR))
}

pub fn router(state: Arc<AppState>) -> Router {
    respawn_webhook::admission::router(state, 1024 * 1024, 16 << 20)
}

/// Sends one request through the router; returns status and body (JSON when it parses).
pub async fn call(router: Router, method: &str, uri: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap();
    let resp = router.oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, json)
}

/// POSTs a fixture to /mutate and checks the answer is a 200 AdmissionReview.
pub async fn review(state: Arc<AppState>, body: Vec<u8>) -> Value {
    let (status, json) = call(router(state), "POST", "/mutate?timeout=10s", body).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(json["kind"], "AdmissionReview");
    json["response"].clone()
}

/// The JSON patch of a response, decoded from base64.
pub fn patch_of(response: &Value) -> Option<json_patch::Patch> {
    let b64 = response.get("patch")?.as_str().expect("patch is a base64 string");
    assert_eq!(response["patchType"], "JSONPatch");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("valid base64");
    Some(serde_json::from_slice(&bytes).expect("patch is a JSON patch"))
}

/// The request's object with the response's patch applied.
pub fn patched(review_in: &Value, response: &Value) -> Value {
    let mut obj = review_in["request"]["object"].clone();
    let patch = patch_of(response).expect("response has a patch");
    json_patch::patch(&mut obj, &patch).expect("patch applies to the request object");
    obj
}

pub fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}
