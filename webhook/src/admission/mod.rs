//! Admission: an AdmissionReview in, an AdmissionReview out. [`decode`] reads the request
//! (kube's admission types, a k8s-openapi Pod); the decision is `crate::decision`, the patch
//! `crate::render`; [`respond`] writes the answer. Every readable request gets a review back —
//! never a 5xx, so the apiserver does not fall back to its failurePolicy by accident — and its
//! uid is echoed whenever it can be read, even from a body nothing else in it can be read from.

pub mod decode;
mod handler;
pub mod respond;

pub use handler::{AppState, mutate, review};

use std::sync::Arc;

use axum::{Router, extract::DefaultBodyLimit, routing::post};

/// The admission routes: `POST /mutate` with a bounded body; other paths 404, other methods 405.
pub fn router(state: Arc<AppState>, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/mutate", post(mutate))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state)
}
