//! Admission: an AdmissionReview in, an AdmissionReview out. [`decode`] reads the request
//! (kube's admission types, a k8s-openapi Pod); the decision is `crate::decision`, the patch
//! `crate::render`; [`respond`] writes the answer. Every readable request gets a review back —
//! never a 5xx, so the apiserver does not fall back to its failurePolicy by accident — and its
//! uid is echoed whenever it can be read, even from a body nothing else in it can be read from.

pub mod decode;
mod handler;
pub mod respond;

pub use handler::{AppState, mutate, review};
