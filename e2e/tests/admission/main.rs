//! Admission end to end: the real kube-apiserver (with etcd and kube-controller-manager) calls the
//! host's respawn-webhook through a MutatingWebhookConfiguration and stores the result. One test
//! binary (one link, one stack start); every case runs in its own temporary namespace.

mod argv;
mod failure_policy;
mod lookup;
mod opt_in;
mod patch_encoding;
mod pod_security;
mod reinvocation;
mod workloads;

use anyhow::Result;
use respawn_e2e::Stack;

/// `127.0.0.1:PORT/respawn-test/NAME:v1` in the stack's open registry.
pub fn image(name: &str) -> Result<String> {
    Stack::get().test_image(name)
}
