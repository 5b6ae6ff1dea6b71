//! Shared harness for the end-to-end suite: the local stack (etcd, kube-apiserver,
//! kube-controller-manager, kube-scheduler, registries, respawn-webhook, and a node: containerd +
//! kubelet) or an existing cluster (`RESPAWN_E2E_STACK_ENV`, e.g. kind), temporary namespaces that
//! dump pod state, events and logs on failure, pod builders and assertions, waiting for pods on
//! the node and the user's `kubectl`, and a tiny second mutating webhook for reinvocation and
//! patch-encoding tests. See `docs/e2e.md`.

pub mod admit;
pub mod node;
pub mod pods;
pub mod stack;
pub mod temp_ns;
pub mod testhook;
pub mod webhooks;

pub use stack::Stack;
pub use temp_ns::{TempNs, with_ns};

/// The opt-in/opt-out label.
pub const INJECT_LABEL: &str = "respawn.dev/inject";
/// The annotation the webhook sets on injected pods.
pub const STATUS_ANNOTATION: &str = "respawn.dev/status";
/// The label the webhook sets on injected pods; the configurations' objectSelectors exclude it.
pub const INJECTED_LABEL: &str = "respawn.dev/injected";
