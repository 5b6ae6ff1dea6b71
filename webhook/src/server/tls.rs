//! TLS for the admission port: rustls with the ring provider, TLS 1.2 and 1.3, a certificate
//! resolver whose key pair is swapped when the files change (Secret mounts change by a `..data`
//! symlink swap, so the files' *content* is compared, not inode or mtime), or a self-signed
//! certificate issued at startup by a throw-away CA.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, PoisonError, RwLock},
    time::Duration,
};

use rustls::{
    ServerConfig,
    crypto::CryptoProvider,
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
    server::{ClientHello, ResolvesServerCert},
    sign::CertifiedKey,
};
use tracing::{info, warn};

use crate::error::TlsError;

/// The ring crypto provider, installed process-wide once (rustls needs exactly one).
pub fn provider() -> Arc<CryptoProvider> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    CryptoProvider::get_default()
        .cloned()
        .expect("a provider was just installed")
}

/// A cert resolver whose certificate can be replaced while the server runs.
#[derive(Debug)]
pub struct ReloadingResolver {
    current: RwLock<Arc<CertifiedKey>>,
}

impl ReloadingResolver {
    /// Starts with `key`.
    pub fn new(key: CertifiedKey) -> Arc<Self> {
        Arc::new(ReloadingResolver {
            current: RwLock::new(Arc::new(key)),
        })
    }

    /// Serves `key` from the next handshake on.
    pub fn replace(&self, key: CertifiedKey) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(key);
    }
}

impl ResolvesServerCert for ReloadingResolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        )
    }
}

/// A rustls server config (TLS 1.2+, ALPN h2 and http/1.1) around `resolver`.
pub fn server_config(resolver: Arc<ReloadingResolver>) -> Result<ServerConfig, TlsError> {
    let mut cfg = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(TlsError::Rustls)?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(cfg)
}

/// Reads a PEM chain (leaf first) and key, returning the key pair and the raw bytes read.
pub fn load_files(cert: &Path, key: &Path) -> Result<(CertifiedKey, Vec<u8>), TlsError> {
    let cert_pem = std::fs::read(cert).map_err(|source| TlsError::Read {
        path: cert.into(),
        source,
    })?;
    let key_pem = std::fs::read(key).map_err(|source| TlsError::Read {
        path: key.into(),
        source,
    })?;
    let certified = from_pem(&cert_pem, &key_pem).map_err(|e| e.about(cert))?;
    let mut both = cert_pem;
    both.extend_from_slice(&key_pem);
    Ok((certified, both))
}

/// Builds a key pair from PEM text (rustls-pki-types' PEM reader).
pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<CertifiedKey, TlsError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Pem(format!("bad certificate PEM: {e}")))?;
    if chain.is_empty() {
        return Err(TlsError::Pem("no CERTIFICATE block found".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => TlsError::Pem("no private key block found".into()),
        e => TlsError::Pem(format!("bad key PEM: {e}")),
    })?;
    CertifiedKey::from_der(chain, key, &provider()).map_err(TlsError::Rustls)
}

/// A self-signed setup: the CA's PEM (for `--write-ca` / caBundle) and a leaf for `sans`.
pub struct SelfSigned {
    /// PEM of the CA certificate clients must trust.
    pub ca_pem: String,
    /// PEM of the leaf certificate.
    pub cert_pem: String,
    /// PEM of the leaf's private key.
    pub key_pem: String,
}

/// Issues a throw-away CA and a leaf valid for 127.0.0.1, localhost and `extra_dns`.
pub fn self_signed(extra_dns: &[String]) -> Result<SelfSigned, TlsError> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
    let gen_err = |e: rcgen::Error| TlsError::Generate(e.to_string());
    let ca_key = KeyPair::generate().map_err(gen_err)?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(gen_err)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "respawn-webhook self-signed CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).map_err(gen_err)?;
    let issuer = Issuer::new(ca, ca_key);
    let mut sans = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    sans.extend(extra_dns.iter().cloned());
    let leaf_key = KeyPair::generate().map_err(gen_err)?;
    let mut leaf = CertificateParams::new(sans).map_err(gen_err)?;
    leaf.distinguished_name
        .push(DnType::CommonName, "respawn-webhook");
    leaf.use_authority_key_identifier_extension = true;
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).map_err(gen_err)?;
    Ok(SelfSigned {
        ca_pem: ca_cert.pem(),
        cert_pem: leaf_cert.pem(),
        key_pem: leaf_key.serialize_pem(),
    })
}

/// Polls `cert` and `key` every `interval` and swaps the served certificate when their content
/// changes; a broken pair is reported and the old certificate kept. Runs until dropped.
pub async fn watch_files(
    resolver: Arc<ReloadingResolver>,
    cert: PathBuf,
    key: PathBuf,
    initial: Vec<u8>,
    interval: Duration,
) {
    let mut last = initial;
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let (c, k) = (cert.clone(), key.clone());
        let read = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<u8>> {
            let mut both = std::fs::read(c)?;
            both.extend(std::fs::read(k)?);
            Ok(both)
        })
        .await;
        let Ok(Ok(bytes)) = read else { continue };
        if bytes == last {
            continue;
        }
        match load_files(&cert, &key) {
            Ok((certified, both)) => {
                resolver.replace(certified);
                info!(cert = %cert.display(), "TLS certificate reloaded");
                last = both;
            }
            Err(e) => {
                warn!(error = %e, "TLS certificate files changed but cannot be loaded; keeping the old one");
                last = bytes;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_pair_loads_and_matches() {
        let s = self_signed(&["respawn-webhook.respawn.svc".into()]).unwrap();
        let k = from_pem(s.cert_pem.as_bytes(), s.key_pem.as_bytes()).unwrap();
        k.keys_match().unwrap();
        assert!(s.ca_pem.contains("BEGIN CERTIFICATE"));
    }

    #[test]
    fn mismatched_or_empty_pem_is_rejected() {
        let a = self_signed(&[]).unwrap();
        let b = self_signed(&[]).unwrap();
        assert!(from_pem(a.cert_pem.as_bytes(), b.key_pem.as_bytes()).is_err());
        assert!(from_pem(b"", a.key_pem.as_bytes()).is_err());
        assert!(from_pem(a.cert_pem.as_bytes(), b"").is_err());
    }
}
