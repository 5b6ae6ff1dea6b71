//! respawn-webhook: a mutating admission webhook that wraps container processes in the
//! `respawn` supervisor. See `docs/webhook.md`.

pub mod image;
pub mod registry;
