//! Admission: an AdmissionReview in, an AdmissionReview out. [`decode`] reads the request
//! (kube's admission types around a k8s-openapi Pod, [`decode::AdmittedPod`]); the decision is `crate::decision`, the patch
//! `crate::render`; [`respond`] writes the answer. Every readable request gets a review back —
//! never a 5xx, so the apiserver does not fall back to its failurePolicy by accident — and its
//! uid is echoed whenever it can be read, even from a body nothing else in it can be read from.

pub mod decode;
mod handler;
pub mod respond;

pub use handler::{AppState, decide, mutate, review};

use std::sync::Arc;

use axum::{
    Router,
    extract::{DefaultBodyLimit, Request, State},
    http::header::CONTENT_LENGTH,
    middleware::{self, Next},
    response::Response,
    routing::post,
};
use tokio::sync::Semaphore;

/// The admission routes: `POST /mutate` with a bounded body; other paths 404, other methods 405.
/// At most `max_inflight_bytes` of request bodies are read and worked on at once: a request
/// waits for its share (its `Content-Length`, or `max_body_bytes` without one) before its body
/// is read, so a burst of huge pods queues instead of growing the webhook's memory without bound.
pub fn router(state: Arc<AppState>, max_body_bytes: usize, max_inflight_bytes: usize) -> Router {
    let budget = Arc::new(Budget {
        kib: Semaphore::new(kib(max_inflight_bytes.max(max_body_bytes))),
        max_body_bytes,
    });
    Router::new()
        .route("/mutate", post(mutate))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(middleware::from_fn_with_state(budget, within_budget))
        .with_state(state)
}

/// The memory budget of bodies in flight, in KiB permits.
struct Budget {
    kib: Semaphore,
    max_body_bytes: usize,
}

fn kib(bytes: usize) -> usize {
    bytes.div_ceil(1024).clamp(1, Semaphore::MAX_PERMITS)
}

/// Holds the request's share of the budget until its answer is written.
async fn within_budget(State(b): State<Arc<Budget>>, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(b.max_body_bytes)
        .min(b.max_body_bytes);
    let share = u32::try_from(kib(declared)).unwrap_or(u32::MAX);
    // The semaphore is never closed, so acquiring only waits.
    let _held = b.kib.acquire_many(share).await.ok();
    next.run(req).await
}
