//! One registry round trip with `oci-client`: the manifest (an index or list is resolved to the
//! wanted platform), then the config blob; registry errors become [`LookupError`]s. Each
//! (registry, credential) pair gets its own `oci_client::Client`, so tokens and stored auth never
//! cross from one credential scope to another.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::manifest::OciDescriptor;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

use super::keyring::Credential;
use super::platform::{self, IndexEntry};
use crate::images::{ImageConfig, LookupError, Platform};

const ACCEPT: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];
/// Config blobs are small; anything bigger is not an image config.
const MAX_CONFIG_BYTES: i64 = 4 << 20;
/// Manifests and indexes are small too (a 100-platform index is ≈ 50 KiB).
const MAX_MANIFEST_BYTES: usize = 4 << 20;
const MAX_CLIENTS: u64 = 1024;
/// Clients built ahead of time (each holds the trust roots: ≈ 160 KiB).
const SPARES: usize = 1;

/// Connection settings shared by every client.
#[derive(Debug, Clone, Default)]
pub struct FetchSettings {
    /// `host:port` reached over plain HTTP (exact match).
    pub insecure: Vec<String>,
    /// Extra trusted CA certificates, DER.
    pub ca_certs: Vec<Vec<u8>>,
}

/// Fetches image configs; holds one `oci_client::Client` per (registry, credential), and a
/// few spare clients built ahead of time.
pub struct Fetcher {
    settings: FetchSettings,
    /// One client per (registry, credential), at most [`MAX_CLIENTS`] (least recently used out).
    clients: moka::sync::Cache<(String, Option<Credential>), Client>,
    spares: Arc<Mutex<Vec<Client>>>,
    refilling: Arc<AtomicBool>,
}

/// The spare pool's lock; a panic elsewhere never makes it unusable (the pool is a plain list).
fn pool(spares: &Mutex<Vec<Client>>) -> std::sync::MutexGuard<'_, Vec<Client>> {
    spares.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A client with no stored auth and no tokens.
fn build(settings: &FetchSettings) -> Result<Client, OciDistributionError> {
    let config = ClientConfig {
        protocol: ClientProtocol::HttpsExcept(settings.insecure.clone()),
        extra_root_certificates: settings
            .ca_certs
            .iter()
            .map(|der| Certificate {
                encoding: CertificateEncoding::Der,
                data: der.clone(),
            })
            .collect(),
        platform_resolver: None,
        connect_timeout: Some(Duration::from_secs(5)),
        read_timeout: Some(Duration::from_secs(10)),
        user_agent: concat!("respawn-webhook/", env!("CARGO_PKG_VERSION")),
        ..ClientConfig::default()
    };
    Client::try_from(config)
}

#[derive(serde::Deserialize)]
struct Manifest {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    #[serde(default)]
    manifests: Option<Vec<IndexEntry>>,
    #[serde(default)]
    config: Option<OciDescriptor>,
}

#[derive(serde::Deserialize)]
struct ConfigBlob {
    #[serde(default)]
    config: Option<RuntimeConfig>,
}

#[derive(serde::Deserialize)]
struct RuntimeConfig {
    #[serde(rename = "Entrypoint", default)]
    entrypoint: Option<Vec<String>>,
    #[serde(rename = "Cmd", default)]
    cmd: Option<Vec<String>>,
    #[serde(rename = "WorkingDir", default)]
    working_dir: Option<String>,
    #[serde(rename = "User", default)]
    user: Option<String>,
}

impl Fetcher {
    /// A fetcher with these connection settings; fails when they do not make a client
    /// (e.g. an unreadable CA certificate).
    pub fn new(settings: FetchSettings) -> Result<Self, String> {
        let first = build(&settings).map_err(|e| chain(&e))?;
        Ok(Fetcher {
            settings,
            clients: moka::sync::Cache::new(MAX_CLIENTS),
            spares: Arc::new(Mutex::new(vec![first])),
            refilling: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The client of (registry, credential): reused, or a spare from the pool. Building a
    /// client loads the trust roots (milliseconds of CPU): when no spare is left it is built on
    /// the blocking pool, never on a runtime worker and never under a lock.
    async fn client(
        &self,
        image: &str,
        registry: &str,
        cred: Option<&Credential>,
    ) -> Result<Client, LookupError> {
        let key = (registry.to_string(), cred.cloned());
        if let Some(c) = self.clients.get(&key) {
            return Ok(c);
        }
        let spare = pool(&self.spares).pop();
        let client = match spare {
            Some(c) => c,
            None => {
                let settings = self.settings.clone();
                tokio::task::spawn_blocking(move || build(&settings))
                    .await
                    .map_err(|e| registry_err(image, &format!("building a registry client failed: {e}")))?
                    .map_err(|e| map_error(image, e))?
            }
        };
        let client = self.clients.entry(key).or_insert(client).into_value();
        self.refill();
        Ok(client)
    }

    /// Tops the spare pool up in the background (no-op outside a Tokio runtime).
    pub fn refill(&self) {
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.refilling.swap(true, Ordering::SeqCst) {
            return;
        }
        let (spares, settings, flag) = (
            Arc::clone(&self.spares),
            self.settings.clone(),
            Arc::clone(&self.refilling),
        );
        rt.spawn_blocking(move || {
            while pool(&spares).len() < SPARES {
                match build(&settings) {
                    Ok(c) => pool(&spares).push(c),
                    Err(_) => break,
                }
            }
            flag.store(false, Ordering::SeqCst);
        });
    }

    /// Tries each credential in order (anonymous when there are none), as the kubelet does;
    /// the next one is tried only when the registry refused the previous one.
    pub async fn fetch(
        &self,
        image: &str,
        reference: &Reference,
        creds: &[Credential],
        wanted: &Platform,
    ) -> Result<ImageConfig, LookupError> {
        if creds.is_empty() {
            return self.fetch_with(image, reference, None, wanted).await;
        }
        let mut last = None;
        for cred in creds {
            match self.fetch_with(image, reference, Some(cred), wanted).await {
                Err(e @ LookupError::Unauthorized { .. }) => last = Some(e),
                other => return other,
            }
        }
        Err(last.expect("at least one credential was tried"))
    }

    async fn fetch_with(
        &self,
        image: &str,
        reference: &Reference,
        cred: Option<&Credential>,
        wanted: &Platform,
    ) -> Result<ImageConfig, LookupError> {
        let client = self.client(image, reference.resolve_registry(), cred).await?;
        let auth = match cred {
            Some(c) => RegistryAuth::Basic(c.username.clone(), c.password.clone()),
            None => RegistryAuth::Anonymous,
        };
        let err = |e: OciDistributionError| map_error(image, e);
        let (body, mut digest) = client
            .pull_manifest_raw(reference, &auth, ACCEPT)
            .await
            .map_err(err)?;
        bounded(image, "manifest", body.len(), MAX_MANIFEST_BYTES)?;
        let mut manifest = parse_manifest(image, &body)?;
        let mut source = reference.clone();
        if let Some(entries) = &manifest.manifests {
            let entry =
                platform::select(entries, wanted).map_err(|available| LookupError::PlatformMissing {
                    image: image.into(),
                    wanted: wanted.to_string(),
                    available,
                })?;
            if usize::try_from(entry.size).unwrap_or(usize::MAX) > MAX_MANIFEST_BYTES {
                return Err(registry_err(
                    image,
                    &format!("the index lists a {}-byte manifest", entry.size),
                ));
            }
            source = Reference::with_digest(
                reference.registry().into(),
                reference.repository().into(),
                entry.digest.clone(),
            );
            let (body, d) = client
                .pull_manifest_raw(&source, &auth, ACCEPT)
                .await
                .map_err(err)?;
            bounded(image, "manifest", body.len(), MAX_MANIFEST_BYTES)?;
            manifest = parse_manifest(image, &body)?;
            digest = d;
            if manifest.manifests.is_some() {
                return Err(registry_err(image, "an index entry points at another index"));
            }
        }
        let desc = manifest.config.ok_or_else(|| {
            registry_err(
                image,
                &format!("manifest ({}) has no config", manifest.media_type),
            )
        })?;
        if desc.size > MAX_CONFIG_BYTES {
            return Err(registry_err(
                image,
                &format!("config blob is {} bytes", desc.size),
            ));
        }
        let mut blob = Limited::new(usize::try_from(desc.size).unwrap_or(0), MAX_CONFIG_BYTES as usize);
        client.pull_blob(&source, &desc, &mut blob).await.map_err(err)?;
        let blob = blob.into_inner();
        let config: ConfigBlob = serde_json::from_slice(&blob)
            .map_err(|e| registry_err(image, &format!("config blob is not an image config: {e}")))?;
        let rc = config.config.unwrap_or(RuntimeConfig {
            entrypoint: None,
            cmd: None,
            working_dir: None,
            user: None,
        });
        Ok(ImageConfig {
            entrypoint: rc.entrypoint,
            cmd: rc.cmd,
            working_dir: rc.working_dir.filter(|s| !s.is_empty()),
            user: rc.user.filter(|s| !s.is_empty()),
            digest: Some(digest),
        })
    }
}

/// A body past `max` bytes is refused. oci-client reads a manifest whole before we see its
/// size, so this bounds what is parsed and kept, not what is read (the read timeout bounds that).
fn bounded(image: &str, what: &str, len: usize, max: usize) -> Result<(), LookupError> {
    if len > max {
        return Err(registry_err(
            image,
            &format!("the {what} is {len} bytes (more than {max})"),
        ));
    }
    Ok(())
}

/// A `Vec` writer that refuses to grow past its limit: a registry that sends more than a
/// config's declared size cannot make the webhook buffer it.
struct Limited {
    buf: Vec<u8>,
    max: usize,
}

impl Limited {
    fn new(expected: usize, max: usize) -> Self {
        Limited {
            buf: Vec::with_capacity(expected.min(max)),
            max,
        }
    }

    fn into_inner(self) -> Vec<u8> {
        self.buf
    }
}

impl tokio::io::AsyncWrite for Limited {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        data: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        if self.buf.len() + data.len() > self.max {
            let e = std::io::Error::other(format!("config blob larger than {} bytes", self.max));
            return std::task::Poll::Ready(Err(e));
        }
        self.buf.extend_from_slice(data);
        std::task::Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

fn parse_manifest(image: &str, body: &[u8]) -> Result<Manifest, LookupError> {
    serde_json::from_slice(body).map_err(|e| registry_err(image, &format!("unreadable manifest: {e}")))
}

fn registry_err(image: &str, reason: &str) -> LookupError {
    LookupError::Registry {
        image: image.into(),
        reason: reason.into(),
    }
}

/// The error and its sources, `a: b: c` (reqwest hides "connection refused" in a source).
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}

/// Sorts `oci-client` errors into the user-facing kinds.
pub fn map_error(image: &str, e: OciDistributionError) -> LookupError {
    let image = image.to_string();
    let reason = chain(&e);
    match &e {
        OciDistributionError::UnauthorizedError { .. } | OciDistributionError::AuthenticationFailure(_) => {
            LookupError::Unauthorized { image, reason }
        }
        OciDistributionError::ImageManifestNotFoundError(_) => LookupError::NotFound { image, reason },
        OciDistributionError::RegistryError { envelope, .. } => {
            let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|e| &e.code).collect();
            let any = |c: &[OciErrorCode]| codes.iter().any(|x| c.contains(x));
            if any(&[OciErrorCode::Unauthorized, OciErrorCode::Denied]) {
                LookupError::Unauthorized { image, reason }
            } else if any(&[
                OciErrorCode::ManifestUnknown,
                OciErrorCode::NameUnknown,
                OciErrorCode::NotFound,
                OciErrorCode::BlobUnknown,
            ]) {
                LookupError::NotFound { image, reason }
            } else {
                LookupError::Registry { image, reason }
            }
        }
        OciDistributionError::ServerError { code: 404, .. } => LookupError::NotFound { image, reason },
        OciDistributionError::ServerError { code: 401 | 403, .. } => {
            LookupError::Unauthorized { image, reason }
        }
        _ => LookupError::Registry { image, reason },
    }
}
