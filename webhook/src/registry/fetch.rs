//! One registry round trip with `oci-client`: the manifest (an index or list is resolved to the
//! wanted platform), then the config blob; registry errors become [`LookupError`]s. Each
//! (registry, credential) pair gets its own `oci_client::Client`, so tokens and stored auth never
//! cross from one credential scope to another.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::manifest::OciDescriptor;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

use super::keyring::Credential;
use super::platform::{self, IndexEntry};
use crate::image::{ImageConfig, LookupError, Platform};

const ACCEPT: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];
/// Config blobs are small; anything bigger is not an image config.
const MAX_CONFIG_BYTES: i64 = 4 << 20;
const MAX_CLIENTS: usize = 1024;
const SPARES: usize = 4;

/// Connection settings shared by every client.
#[derive(Debug, Clone, Default)]
pub struct FetchSettings {
    /// `host:port` reached over plain HTTP (exact match).
    pub insecure: Vec<String>,
    /// Extra trusted CA certificates, one PEM block each.
    pub ca_certs: Vec<Vec<u8>>,
}

/// Fetches image configs; holds one `oci_client::Client` per (registry, credential), and a
/// few spare clients built ahead of time.
pub struct Fetcher {
    settings: FetchSettings,
    clients: Mutex<HashMap<(String, Option<Credential>), Client>>,
    spares: Arc<Mutex<Vec<Client>>>,
    refilling: Arc<AtomicBool>,
}

/// A client with no stored auth and no tokens.
fn build(settings: &FetchSettings) -> Result<Client, OciDistributionError> {
    let config = ClientConfig {
        protocol: ClientProtocol::HttpsExcept(settings.insecure.clone()),
        extra_root_certificates: settings
            .ca_certs
            .iter()
            .map(|pem| Certificate {
                encoding: CertificateEncoding::Pem,
                data: pem.clone(),
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
            clients: Mutex::default(),
            spares: Arc::new(Mutex::new(vec![first])),
            refilling: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The client of (registry, credential): reused, or a spare from the pool (building a
    /// client loads the trust roots, far too slow for the admission path).
    fn client(&self, image: &str, registry: &str, cred: Option<&Credential>) -> Result<Client, LookupError> {
        let key = (registry.to_string(), cred.cloned());
        let mut clients = self.clients.lock().expect("client map poisoned");
        if let Some(c) = clients.get(&key) {
            return Ok(c.clone());
        }
        if clients.len() >= MAX_CLIENTS {
            clients.clear();
        }
        let spare = self.spares.lock().expect("spare pool poisoned").pop();
        let client = match spare {
            Some(c) => c,
            None => build(&self.settings).map_err(|e| map_error(image, e))?,
        };
        clients.insert(key, client.clone());
        drop(clients);
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
            while spares.lock().expect("spare pool poisoned").len() < SPARES {
                match build(&settings) {
                    Ok(c) => spares.lock().expect("spare pool poisoned").push(c),
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
        let client = self.client(image, reference.resolve_registry(), cred)?;
        let auth = match cred {
            Some(c) => RegistryAuth::Basic(c.username.clone(), c.password.clone()),
            None => RegistryAuth::Anonymous,
        };
        let err = |e: OciDistributionError| map_error(image, e);
        let (body, mut digest) = client
            .pull_manifest_raw(reference, &auth, ACCEPT)
            .await
            .map_err(err)?;
        let mut manifest = parse_manifest(image, &body)?;
        let mut source = reference.clone();
        if let Some(entries) = &manifest.manifests {
            let entry =
                platform::select(entries, wanted).map_err(|available| LookupError::PlatformMissing {
                    image: image.into(),
                    wanted: platform::display(wanted),
                    available,
                })?;
            source = Reference::with_digest(
                reference.registry().into(),
                reference.repository().into(),
                entry.digest.clone(),
            );
            let (body, d) = client
                .pull_manifest_raw(&source, &auth, ACCEPT)
                .await
                .map_err(err)?;
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
        let mut blob = Vec::with_capacity(desc.size.max(0) as usize);
        client.pull_blob(&source, &desc, &mut blob).await.map_err(err)?;
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
