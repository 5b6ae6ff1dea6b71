//! Registry-backed [`ImageConfigProvider`](crate::image::ImageConfigProvider): reads ENTRYPOINT
//! and CMD from real OCI/Docker registries with the pod's pull credentials, behind a cache that
//! coalesces concurrent lookups and always answers by the request's deadline. See
//! `docs/registry.md`.

mod metrics;

use std::path::PathBuf;
use std::sync::Arc;

pub use metrics::RegistryMetrics;

use crate::image::ImageConfigProvider;

/// Registry options, flattened into the webhook's CLI (`RESPAWN_WEBHOOK_*` env).
#[derive(clap::Args, Debug, Clone)]
pub struct RegistryOptions {
    /// Registry `HOST:PORT` reached over plain HTTP (repeatable, or comma-separated in the env).
    /// Matched exactly: `localhost:5000` does not cover `localhost`.
    #[arg(
        long = "insecure-registry",
        value_name = "HOST:PORT",
        env = "RESPAWN_WEBHOOK_INSECURE_REGISTRIES",
        value_delimiter = ','
    )]
    pub insecure_registries: Vec<String>,

    /// PEM file of CA certificates trusted for registries, in addition to the system roots.
    #[arg(long, value_name = "FILE", env = "RESPAWN_WEBHOOK_REGISTRY_CA_BUNDLE")]
    pub registry_ca_bundle: Option<PathBuf>,

    /// A pull secret (`NAMESPACE/NAME`) tried for every pod after the pod's own credentials.
    #[arg(long, value_name = "NAMESPACE/NAME", env = "RESPAWN_WEBHOOK_GLOBAL_PULL_SECRET")]
    pub global_pull_secret: Option<String>,

    /// Seconds a config looked up by tag is served before it is revalidated.
    #[arg(long, value_name = "SECS", default_value_t = 60, env = "RESPAWN_WEBHOOK_CACHE_TAG_TTL")]
    pub cache_tag_ttl: u64,

    /// Seconds a config looked up by digest is kept (digests are immutable).
    #[arg(long, value_name = "SECS", default_value_t = 86400, env = "RESPAWN_WEBHOOK_CACHE_DIGEST_TTL")]
    pub cache_digest_ttl: u64,

    /// Seconds a failed lookup is remembered, so a broken image does not hammer the registry.
    #[arg(long, value_name = "SECS", default_value_t = 5, env = "RESPAWN_WEBHOOK_CACHE_FAILURE_TTL")]
    pub cache_failure_ttl: u64,

    /// Seconds past its TTL a tag's config may still be served while it is refreshed in the
    /// background (stale-while-revalidate); also covers a registry outage.
    #[arg(long, value_name = "SECS", default_value_t = 3600, env = "RESPAWN_WEBHOOK_CACHE_STALE_WINDOW")]
    pub cache_stale_window: u64,

    /// Maximum number of cached image configs.
    #[arg(long, value_name = "N", default_value_t = 4096, env = "RESPAWN_WEBHOOK_CACHE_CAPACITY")]
    pub cache_capacity: usize,

    /// Seconds pull secrets and service accounts read from the API server are reused.
    #[arg(long, value_name = "SECS", default_value_t = 10, env = "RESPAWN_WEBHOOK_CREDENTIAL_TTL")]
    pub credential_ttl: u64,

    /// Upper bound in seconds of one background registry fetch (a lookup's own deadline is
    /// usually much shorter; the fetch goes on to fill the cache for the next lookup).
    #[arg(long, value_name = "SECS", default_value_t = 30, env = "RESPAWN_WEBHOOK_REGISTRY_FETCH_TIMEOUT")]
    pub registry_fetch_timeout: u64,
}

impl Default for RegistryOptions {
    /// The same values as the CLI defaults.
    fn default() -> Self {
        RegistryOptions {
            insecure_registries: Vec::new(),
            registry_ca_bundle: None,
            global_pull_secret: None,
            cache_tag_ttl: 60,
            cache_digest_ttl: 86400,
            cache_failure_ttl: 5,
            cache_stale_window: 3600,
            cache_capacity: 4096,
            credential_ttl: 10,
            registry_fetch_timeout: 30,
        }
    }
}

/// Builds the registry-backed provider. `kube` is the client pull secrets and service accounts
/// are read with (`get` only); `None` means anonymous access only (plus nothing global).
pub async fn provider(
    opts: &RegistryOptions,
    kube: Option<kube::Client>,
    metrics: RegistryMetrics,
) -> anyhow::Result<Arc<dyn ImageConfigProvider>> {
    let _ = (opts, kube, metrics);
    anyhow::bail!("registry provider: not implemented yet")
}
