//! Registry-backed [`ImageConfigProvider`](crate::images::ImageConfigProvider): reads ENTRYPOINT
//! and CMD from real OCI/Docker registries with the pod's pull credentials, behind a cache that
//! coalesces concurrent lookups and always answers by the request's deadline. See
//! `docs/registry.md`.

mod cache;
mod credentials;
mod fetch;
mod keyring;
mod local_auth;
mod metrics;
mod platform;
mod provider;
mod reference;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

pub use cache::{Cache, CacheKey, Ttls};
pub use credentials::{CredentialError, CredentialSource, KubeCredentials};
pub use fetch::{FetchSettings, Fetcher};
pub use keyring::{Credential, DOCKER_CFG, DOCKER_CONFIG_JSON, Keyring};
pub use local_auth::{LocalAuth, LocalAuthError};
pub use metrics::{CacheLabel, OutcomeLabel, RegistryMetrics};
pub use provider::{RegistryProvider, parse_reference};

use crate::images::ImageConfigProvider;

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
    #[arg(
        long,
        value_name = "NAMESPACE/NAME",
        env = "RESPAWN_WEBHOOK_GLOBAL_PULL_SECRET"
    )]
    pub global_pull_secret: Option<String>,

    /// Seconds a config looked up by tag is served before it is revalidated.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 60,
        env = "RESPAWN_WEBHOOK_CACHE_TAG_TTL"
    )]
    pub cache_tag_ttl: u64,

    /// Seconds a config looked up by digest is kept (digests are immutable).
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 86400,
        env = "RESPAWN_WEBHOOK_CACHE_DIGEST_TTL"
    )]
    pub cache_digest_ttl: u64,

    /// Seconds a failed lookup is remembered, so a broken image does not hammer the registry.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 5,
        env = "RESPAWN_WEBHOOK_CACHE_FAILURE_TTL"
    )]
    pub cache_failure_ttl: u64,

    /// Seconds past its TTL a tag's config may still be served while it is refreshed in the
    /// background (stale-while-revalidate); also covers a registry outage.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 3600,
        env = "RESPAWN_WEBHOOK_CACHE_STALE_WINDOW"
    )]
    pub cache_stale_window: u64,

    /// Maximum number of cached image configs.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 4096,
        env = "RESPAWN_WEBHOOK_CACHE_CAPACITY"
    )]
    pub cache_capacity: usize,

    /// Seconds pull secrets and service accounts read from the API server, and the credentials
    /// worked out from them for a pod identity, are reused (0: read on every admission).
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 10,
        env = "RESPAWN_WEBHOOK_CREDENTIAL_TTL"
    )]
    pub credential_ttl: u64,

    /// Upper bound in seconds of one background registry fetch (a lookup's own deadline is
    /// usually much shorter; the fetch goes on to fill the cache for the next lookup).
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 30,
        env = "RESPAWN_WEBHOOK_REGISTRY_FETCH_TIMEOUT"
    )]
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

impl RegistryOptions {
    /// The cache lifetimes these options describe.
    pub fn ttls(&self) -> Ttls {
        Ttls {
            tag: Duration::from_secs(self.cache_tag_ttl),
            digest: Duration::from_secs(self.cache_digest_ttl),
            failure: Duration::from_secs(self.cache_failure_ttl),
            stale: Duration::from_secs(self.cache_stale_window),
            fetch: Duration::from_secs(self.registry_fetch_timeout.max(1)),
        }
    }

    /// `--global-pull-secret` split into (namespace, name).
    pub fn global_secret(&self) -> anyhow::Result<Option<(String, String)>> {
        let Some(s) = &self.global_pull_secret else {
            return Ok(None);
        };
        match s.split_once('/') {
            Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => {
                Ok(Some((ns.to_string(), name.to_string())))
            }
            _ => anyhow::bail!("--global-pull-secret {s:?}: expected NAMESPACE/NAME"),
        }
    }

    /// Connection settings: insecure hosts and the CA bundle split into PEM certificates.
    pub fn fetch_settings(&self) -> anyhow::Result<FetchSettings> {
        for host in &self.insecure_registries {
            anyhow::ensure!(
                !host.is_empty() && !host.contains('/') && !host.contains("://"),
                "--insecure-registry {host:?}: expected HOST or HOST:PORT (no scheme, no path)"
            );
        }
        let mut ca_certs = Vec::new();
        if let Some(path) = &self.registry_ca_bundle {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading --registry-ca-bundle {}", path.display()))?;
            ca_certs = split_pem(&text)
                .map_err(|e| anyhow::anyhow!("--registry-ca-bundle {}: {e}", path.display()))?;
            anyhow::ensure!(
                !ca_certs.is_empty(),
                "--registry-ca-bundle {}: no PEM certificate in it",
                path.display()
            );
        }
        Ok(FetchSettings {
            insecure: self.insecure_registries.clone(),
            ca_certs,
        })
    }
}

/// The DER certificates of a PEM bundle (rustls-pki-types' PEM reader); other blocks are
/// skipped, a malformed block is an error.
fn split_pem(text: &str) -> Result<Vec<Vec<u8>>, String> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    CertificateDer::pem_slice_iter(text.as_bytes())
        .map(|c| c.map(|der| der.to_vec()).map_err(|e| e.to_string()))
        .collect()
}

/// Builds the registry-backed provider. `kube` is the client pull secrets and service accounts
/// are read with (`get` only); `None` means anonymous access only (plus nothing global).
pub async fn provider(
    opts: &RegistryOptions,
    kube: Option<kube::Client>,
    metrics: RegistryMetrics,
) -> anyhow::Result<Arc<dyn ImageConfigProvider>> {
    let credentials = kube.map(|client| {
        Arc::new(KubeCredentials::new(
            client,
            Duration::from_secs(opts.credential_ttl),
        )) as Arc<dyn CredentialSource>
    });
    provider_from(opts, credentials, metrics)
}

/// Builds the registry-backed provider on any [`CredentialSource`] (`None`: anonymous only):
/// the API server's ([`provider`]) or the local login files of `respawn-webhook inject`
/// ([`LocalAuth`]).
pub fn provider_from(
    opts: &RegistryOptions,
    credentials: Option<Arc<dyn CredentialSource>>,
    metrics: RegistryMetrics,
) -> anyhow::Result<Arc<dyn ImageConfigProvider>> {
    // oci-client's TLS stack is rustls without a built-in provider: make sure ring is installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let provider = RegistryProvider::new(
        Fetcher::new(opts.fetch_settings()?).map_err(|e| anyhow::anyhow!("registry client: {e}"))?,
        opts.ttls(),
        opts.cache_capacity,
        credentials,
        opts.global_secret()?,
        Duration::from_secs(opts.credential_ttl),
        metrics,
    );
    Ok(Arc::new(provider))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        registry: RegistryOptions,
    }

    #[test]
    fn flags_parse_and_defaults_match_the_cli() {
        let cli = Cli::parse_from(["x", "--insecure-registry", "a:1", "--insecure-registry", "b:2"]);
        assert_eq!(cli.registry.insecure_registries, ["a:1", "b:2"]);
        let defaults = Cli::parse_from(["x"]).registry;
        let d = RegistryOptions::default();
        assert_eq!(
            (
                defaults.cache_tag_ttl,
                defaults.cache_digest_ttl,
                defaults.cache_failure_ttl
            ),
            (d.cache_tag_ttl, d.cache_digest_ttl, d.cache_failure_ttl)
        );
        assert_eq!(
            (
                defaults.cache_stale_window,
                defaults.cache_capacity,
                defaults.credential_ttl
            ),
            (d.cache_stale_window, d.cache_capacity, d.credential_ttl)
        );
        assert_eq!(defaults.registry_fetch_timeout, d.registry_fetch_timeout);
    }

    #[test]
    fn bad_options_are_clear_errors() {
        let o = RegistryOptions {
            insecure_registries: vec!["http://a:1".into()],
            ..Default::default()
        };
        assert!(o.fetch_settings().unwrap_err().to_string().contains("no scheme"));
        for bad in ["ns", "/name", "ns/", "a/b/c"] {
            let o = RegistryOptions {
                global_pull_secret: Some(bad.into()),
                ..Default::default()
            };
            assert!(o.global_secret().is_err(), "{bad}");
        }
        let o = RegistryOptions {
            global_pull_secret: Some("ns/name".into()),
            ..Default::default()
        };
        assert_eq!(o.global_secret().unwrap(), Some(("ns".into(), "name".into())));
    }

    #[test]
    fn pem_bundles_split_per_certificate() {
        let one = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let certs = split_pem(&format!("junk\n{one}{one}trailer")).unwrap();
        assert_eq!(certs, vec![vec![0u8, 0, 0], vec![0, 0, 0]]);
        assert!(split_pem("nothing").unwrap().is_empty());
        assert!(split_pem("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n").is_err());
    }

    #[tokio::test]
    async fn provider_builds_from_options() {
        let p = provider(&RegistryOptions::default(), None, RegistryMetrics::new()).await;
        assert!(p.is_ok());
        let o = RegistryOptions {
            registry_ca_bundle: Some("/nonexistent.pem".into()),
            ..Default::default()
        };
        let err = provider(&o, None, RegistryMetrics::new()).await.err().unwrap();
        assert!(format!("{err:#}").contains("/nonexistent.pem"), "{err:#}");
    }
}
