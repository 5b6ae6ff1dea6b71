//! respawn-webhook: a mutating admission webhook that wraps container processes in the
//! `respawn` supervisor. See `docs/webhook.md`.
//!
//! This file is the composition root: configuration → TLS → image provider → servers → signals.
//! The flow of a request: [`handler`] → [`mutate`] → [`argv`] / [`image`] → [`patch`].
// `deny`, not `forbid`: `fastjson::simd` alone allows it, for its SSE2 loads.
#![deny(unsafe_code)]

pub mod argv;
pub mod config;
pub mod error;
pub mod fastjson;
pub mod handler;
pub mod image;
pub mod inject;
pub mod jsonw;
pub mod logfmt;
pub mod lookup;
pub mod metrics;
pub mod mutate;
pub mod patch;
pub mod podview;
pub mod registry;
pub mod review;
pub mod server;
pub mod settings;
pub mod static_provider;
pub mod tls;

use std::sync::Arc;

use anyhow::Context;
use tracing::{info, warn};

use crate::config::{Config, TlsOptions};
use crate::handler::AppState;
use crate::metrics::Metrics;
use crate::tls::ReloadingResolver;

/// Runs the webhook until SIGTERM or SIGINT, then drains in-flight requests.
pub async fn run(config: Config) -> anyhow::Result<()> {
    tls::provider();
    let kube = match kube::Client::try_default().await {
        Ok(c) => Some(c),
        Err(e) => {
            warn!(error = %e, "no Kubernetes client (in-cluster or KUBECONFIG): pull secrets cannot be read, registry access is anonymous");
            None
        }
    };
    let registry_metrics = registry::RegistryMetrics::new();
    let provider = registry::provider(&config.registry, kube, registry_metrics.clone())
        .await
        .context("cannot set up the registry client")?;
    let metrics = Arc::new(Metrics::with_registry_metrics(&registry_metrics));
    let state = Arc::new(AppState {
        injection: config.injection.clone(),
        lookup_budget: config.lookup_budget,
        provider,
        metrics,
    });
    let resolver = prepare_tls(&config.tls)?;
    let listen = server::Listen {
        admission: config.listen,
        ops: config.metrics_listen,
        max_body_bytes: config.max_body_bytes,
    };
    let running = server::start(listen, resolver, state)?;
    info!(admission = %running.admission, ops = %running.ops, supervisor_image = %config.injection.supervisor_image, "serving");
    shutdown_signal().await;
    info!(grace = ?config.shutdown_grace, "shutting down, draining in-flight requests");
    running.shutdown(config.shutdown_grace).await?;
    info!("stopped");
    Ok(())
}

/// Loads or generates the certificate, writes `--write-ca`, and starts the file watcher.
pub fn prepare_tls(opts: &TlsOptions) -> anyhow::Result<Arc<ReloadingResolver>> {
    let (resolver, ca_pem) = match (&opts.tls_cert, &opts.tls_key) {
        (Some(cert), Some(key)) => {
            let (certified, bytes) = tls::load_files(cert, key)?;
            let chain =
                std::fs::read_to_string(cert).with_context(|| format!("cannot read {}", cert.display()))?;
            let resolver = ReloadingResolver::new(certified);
            tokio::spawn(tls::watch_files(
                resolver.clone(),
                cert.clone(),
                key.clone(),
                bytes,
                opts.tls_reload_interval,
            ));
            info!(cert = %cert.display(), "serving the certificate from files, reloaded on change");
            (resolver, chain)
        }
        _ => {
            let s = tls::self_signed(&opts.tls_sans)?;
            let certified = tls::from_pem(s.cert_pem.as_bytes(), s.key_pem.as_bytes())?;
            info!(sans = ?opts.tls_sans, "serving a self-signed certificate (localhost, 127.0.0.1 and --tls-san names)");
            (ReloadingResolver::new(certified), s.ca_pem)
        }
    };
    if let Some(path) = &opts.write_ca {
        std::fs::write(path, ca_pem.as_bytes()).map_err(|source| error::ServeError::WriteCa {
            path: path.clone(),
            source,
        })?;
        info!(path = %path.display(), "wrote the CA bundle");
    }
    Ok(resolver)
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing a SIGTERM handler cannot fail");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
