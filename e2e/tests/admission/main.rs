//! Admission end to end: the real kube-apiserver (with etcd and kube-controller-manager) calls the
//! host's respawn-webhook through a MutatingWebhookConfiguration and stores the result. One test
//! binary (one link, one stack start); every case runs in its own temporary namespace.
//! Everything outside `local_only` also runs against an existing cluster (`RESPAWN_E2E_STACK_ENV`,
//! e.g. kind through `make kind-e2e`).

mod argv;
mod local_only;
mod lookup;
mod opt_in;
mod pod_security;
mod workloads;

use anyhow::Result;
use respawn_e2e::Stack;

/// `REGISTRY/respawn-test/NAME:v1` in the stack's (or the cluster's) open registry.
pub fn image(name: &str) -> Result<String> {
    Stack::get().test_image(name)
}
