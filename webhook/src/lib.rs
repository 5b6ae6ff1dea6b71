//! respawn-webhook: a mutating admission webhook that wraps container processes in the
//! `respawn` supervisor. See `docs/webhook.md`.
//!
//! The flow of a request, one folder each: [`admission`] (decode the AdmissionReview, answer it)
//! → [`decision`] (pure: skip, deny, or a typed mutation) → [`render`] (the mutation as a JSON
//! Patch) → back to [`admission`]. Beside it: [`images`] (what an image runs: provider trait,
//! registry, cache, credentials) and [`server`] (listeners, TLS, metrics, logs). [`offline`] is
//! `respawn-webhook inject`: the same decision and patch applied to manifests, for GitOps. This
//! file is the composition root: configuration → Kubernetes client → image provider → TLS →
//! servers.

pub mod admission;
pub mod config;
pub mod decision;
pub mod error;
pub mod images;
pub mod offline;
pub mod render;
pub mod server;

use std::sync::Arc;

use anyhow::Context;
use tracing::{info, warn};

use crate::admission::AppState;
use crate::config::{Config, TlsOptions};
use crate::decision::Delivery;
use crate::server::metrics::Metrics;
use crate::server::tls::{self, ReloadingResolver};

/// The first Kubernetes minor version with image volumes on by default (KEP-4639).
pub const IMAGE_VOLUME_MINOR: u32 = 35;

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
    let image_volumes = image_volume_support(kube.as_ref(), config.injection.delivery).await?;
    let registry_metrics = images::registry::RegistryMetrics::new();
    let provider = images::registry::provider(&config.registry, kube, registry_metrics.clone())
        .await
        .context("cannot set up the registry client")?;
    let metrics = Arc::new(Metrics::with_registry_metrics(&registry_metrics));
    let state = Arc::new(AppState {
        injection: config.injection.injection(image_volumes),
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
    let app = admission::router(
        Arc::clone(&state),
        config.max_body_bytes,
        config.max_inflight_bytes,
    );
    let running = server::start(listen, resolver, app, Arc::clone(&state.metrics))?;
    info!(admission = %running.admission, ops = %running.ops, supervisor_image = %config.injection.supervisor_image, delivery = ?config.injection.delivery, "serving");
    shutdown_signal().await;
    info!(grace = ?config.shutdown_grace, "shutting down, draining in-flight requests");
    running.shutdown(config.shutdown_grace).await?;
    info!("stopped");
    Ok(())
}

/// Whether the cluster serves image volumes, from the apiserver's `/version`. With
/// `--delivery image-volume` an older or unknown apiserver is a startup error that says so.
async fn image_volume_support(kube: Option<&kube::Client>, delivery: Delivery) -> anyhow::Result<bool> {
    let version = match kube {
        Some(c) => match c.apiserver_version().await {
            Ok(info) => Some(info),
            Err(e) => {
                warn!(error = %e, "cannot read the apiserver's /version");
                None
            }
        },
        None => None,
    };
    let minor = version.as_ref().and_then(|v| {
        let digits: String = v.minor.chars().take_while(char::is_ascii_digit).collect();
        (v.major == "1").then(|| digits.parse::<u32>().ok()).flatten()
    });
    let supported = minor.is_some_and(|m| m >= IMAGE_VOLUME_MINOR);
    if delivery == Delivery::ImageVolume && !supported {
        let seen = version.map_or_else(|| "unknown (no /version answer)".to_string(), |v| v.git_version);
        anyhow::bail!(
            "--delivery image-volume needs Kubernetes 1.{IMAGE_VOLUME_MINOR} or newer (image volumes, KEP-4639); \
             the apiserver's version is {seen}. Use --delivery init-container, or upgrade the cluster."
        );
    }
    Ok(supported)
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
