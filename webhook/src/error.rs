//! Errors of the webhook's edges (TLS material, sockets, startup), each carrying its context.

use std::{net::SocketAddr, path::PathBuf};

/// Problems with certificates and keys.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// PEM text without the expected blocks.
    #[error("{0}")]
    Pem(String),
    /// rustls refused the material (unsupported key, key/cert mismatch, …).
    #[error("{0}")]
    Rustls(rustls::Error),
    /// Generating the self-signed certificate failed.
    #[error("cannot generate a self-signed certificate: {0}")]
    Generate(String),
    /// An error in the pair whose certificate is `path`.
    #[error("TLS pair {path}: {source}")]
    InPair {
        /// The certificate file.
        path: PathBuf,
        /// The underlying error.
        source: Box<TlsError>,
    },
}

impl TlsError {
    /// Adds the certificate path as context.
    pub fn about(self, path: &std::path::Path) -> TlsError {
        TlsError::InPair {
            path: path.into(),
            source: Box::new(self),
        }
    }
}

/// Problems starting or running the servers.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// TLS setup failed.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// A listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Writing `--write-ca` failed.
    #[error("cannot write the CA bundle to {path}: {source}")]
    WriteCa {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A server stopped with an I/O error.
    #[error("{what} server failed: {source}")]
    Io {
        /// Which server.
        what: &'static str,
        /// Why.
        source: std::io::Error,
    },
}
