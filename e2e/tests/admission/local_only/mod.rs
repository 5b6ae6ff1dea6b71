//! Cases that need what only the local stack has, so they cannot run against an existing cluster
//! (`RESPAWN_E2E_STACK_ENV`): a kube-apiserver that reaches webhooks on this host's 127.0.0.1 (the
//! in-process test webhook, a dead port), the respawn-webhook process's own port, CA file and log,
//! the htpasswd registry, and the host's respawn-webhook binary reaching the registry (offline
//! injection). Each calls `Stack::local_only`, so it fails loudly if run in that
//! mode; `e2e/stack/cluster-suite.sh` skips `local_only::` and lists these tests as not run.

mod failure_policy;
mod offline_inject;
mod patch_encoding;
mod private_registry;
mod reinvocation;
