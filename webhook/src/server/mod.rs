//! The server side: the two listeners — HTTPS admission (`POST /mutate`) and plain-HTTP
//! operations (`/healthz`, `/readyz`, `/metrics`) — with graceful shutdown that drains in-flight
//! requests; TLS ([`tls`]), metrics ([`metrics`]) and logs ([`logs`]).

pub mod logs;
pub mod metrics;
pub mod tls;

use std::{
    net::{SocketAddr, TcpListener},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use axum::{
    Router,
    extract::{DefaultBodyLimit, State},
    http::{StatusCode, header},
    response::IntoResponse,
    routing::get,
};
use axum_server::{Handle, tls_rustls::RustlsConfig};
use tokio::{sync::oneshot, task::JoinHandle};

use crate::error::ServeError;
use metrics::Metrics;
use tls::ReloadingResolver;

#[derive(Clone)]
struct OpsState {
    metrics: Arc<Metrics>,
    ready: Arc<AtomicBool>,
}

/// `/healthz` (alive), `/readyz` (serving and not shutting down), `/metrics` (Prometheus text).
pub fn ops_router(metrics: Arc<Metrics>, ready: Arc<AtomicBool>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(render_metrics))
        .with_state(OpsState { metrics, ready })
}

async fn readyz(State(s): State<OpsState>) -> impl IntoResponse {
    if s.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down")
    }
}

async fn render_metrics(State(s): State<OpsState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.render(),
    )
}

/// Where to listen and what to serve.
pub struct Listen {
    /// HTTPS admission address.
    pub admission: SocketAddr,
    /// Plain-HTTP operations address.
    pub ops: SocketAddr,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
}

/// Both servers, running.
pub struct Running {
    /// Bound admission address (useful with port 0).
    pub admission: SocketAddr,
    /// Bound operations address.
    pub ops: SocketAddr,
    handle: Handle<SocketAddr>,
    ready: Arc<AtomicBool>,
    ops_stop: oneshot::Sender<()>,
    admission_task: JoinHandle<std::io::Result<()>>,
    ops_task: JoinHandle<std::io::Result<()>>,
}

fn bind(addr: SocketAddr) -> Result<TcpListener, ServeError> {
    let l = TcpListener::bind(addr).map_err(|source| ServeError::Bind { addr, source })?;
    l.set_nonblocking(true)
        .map_err(|source| ServeError::Bind { addr, source })?;
    Ok(l)
}

/// Binds both addresses and starts serving `app` (the admission routes, `crate::admission::router`)
/// with bodies bounded by `max_body_bytes`; returns once both sockets listen.
pub fn start(
    listen: Listen,
    resolver: Arc<ReloadingResolver>,
    app: Router,
    metrics: Arc<Metrics>,
) -> Result<Running, ServeError> {
    let admission_l = bind(listen.admission)?;
    let ops_l = bind(listen.ops)?;
    let admission = admission_l.local_addr().map_err(|source| ServeError::Bind {
        addr: listen.admission,
        source,
    })?;
    let ops = ops_l.local_addr().map_err(|source| ServeError::Bind {
        addr: listen.ops,
        source,
    })?;
    let rustls = RustlsConfig::from_config(Arc::new(tls::server_config(resolver)?));
    let handle = Handle::new();
    let app = app.layer(DefaultBodyLimit::max(listen.max_body_bytes));
    let server = axum_server::from_tcp_rustls(admission_l, rustls)
        .map_err(|source| ServeError::Bind {
            addr: admission,
            source,
        })?
        .handle(handle.clone());
    let admission_task = tokio::spawn(server.serve(app.into_make_service()));
    let ready = Arc::new(AtomicBool::new(true));
    let (ops_stop, stop_rx) = oneshot::channel::<()>();
    let ops_app = ops_router(metrics, ready.clone());
    let ops_listener =
        tokio::net::TcpListener::from_std(ops_l).map_err(|source| ServeError::Bind { addr: ops, source })?;
    let ops_task = tokio::spawn(async move {
        axum::serve(ops_listener, ops_app)
            .with_graceful_shutdown(async {
                stop_rx.await.ok();
            })
            .await
    });
    Ok(Running {
        admission,
        ops,
        handle,
        ready,
        ops_stop,
        admission_task,
        ops_task,
    })
}

impl Running {
    /// Stops accepting, lets in-flight admission requests finish within `grace`, then stops the
    /// operations port.
    pub async fn shutdown(self, grace: Duration) -> Result<(), ServeError> {
        self.ready.store(false, Ordering::Relaxed);
        self.handle.graceful_shutdown(Some(grace));
        let admission = self
            .admission_task
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        let _ = self.ops_stop.send(());
        let ops = self
            .ops_task
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        admission.map_err(|source| ServeError::Io {
            what: "admission",
            source,
        })?;
        ops.map_err(|source| ServeError::Io {
            what: "operations",
            source,
        })
    }

    /// Number of open admission connections.
    pub fn connections(&self) -> usize {
        self.handle.connection_count()
    }
}
