//! Registry-backed [`ImageConfigProvider`](crate::image::ImageConfigProvider) (in progress).

/// Registry options, flattened into the webhook's CLI (`RESPAWN_WEBHOOK_*` env).
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {}
