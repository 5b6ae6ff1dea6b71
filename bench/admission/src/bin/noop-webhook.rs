//! `noop-webhook`: a mutating admission webhook that changes nothing — the floor any webhook
//! costs the apiserver (mode N of `respawn-bench apiserver`) — and, on `/annotate`, one whose
//! patch adds a single annotation: the floor of any webhook that mutates (mode A).
//!
//! Same transport as respawn-webhook: HTTPS with rustls (ring, TLS 1.3/1.2, ALPN h2 then
//! http/1.1, so the apiserver chooses HTTP/2 as it does with respawn), served by axum-server on
//! tokio's multi-threaded runtime (`#[tokio::main]`), the system allocator, a 4 MiB body limit. It reads the whole review, parses
//! it far enough to echo `request.uid`, and answers `allowed: true` with no patch. It does less
//! than any real webhook (no decision, no log line), which is what a floor should do.
//!
//! Binds 127.0.0.1 on free ports, prints one JSON line `{"url", "ca_pem", "stats"}` on stdout,
//! serves `GET /stats` (calls by HTTP version, open connections) on the plain-HTTP `stats`
//! address, and exits when its stdin closes (its parent, the benchmark, is gone).

use std::borrow::Cow;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Version, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router, body::Bytes};
use axum_server::{Handle, tls_rustls::RustlsConfig};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

#[derive(Default)]
struct Counts {
    h2: AtomicU64,
    h1: AtomicU64,
    bad: AtomicU64,
}

#[derive(serde::Deserialize)]
struct Review<'a> {
    #[serde(borrow)]
    request: Option<Request<'a>>,
}

#[derive(serde::Deserialize)]
struct Request<'a> {
    #[serde(borrow)]
    uid: Cow<'a, str>,
    object: Option<Object>,
}

#[derive(serde::Deserialize)]
struct Object {
    metadata: Option<Metadata>,
}

#[derive(serde::Deserialize)]
struct Metadata {
    annotations: Option<serde::de::IgnoredAny>,
}

/// The annotation mode A adds.
const ANNOTATION: &str = "bench.respawn.dev/annotated";

async fn annotate(State(counts): State<Arc<Counts>>, version: Version, body: Bytes) -> impl IntoResponse {
    count(&counts, version);
    let (uid, has_annotations) = match serde_json::from_slice::<Review>(&body) {
        Ok(Review { request: Some(r) }) => {
            let has = r
                .object
                .and_then(|o| o.metadata)
                .is_some_and(|m| m.annotations.is_some());
            (r.uid.into_owned(), has)
        }
        _ => {
            counts.bad.fetch_add(1, Ordering::Relaxed);
            (String::new(), true)
        }
    };
    let op = if has_annotations {
        serde_json::json!({"op": "add", "path": format!("/metadata/annotations/{}", ANNOTATION.replace('/', "~1")), "value": "true"})
    } else {
        serde_json::json!({"op": "add", "path": "/metadata/annotations", "value": {ANNOTATION: "true"}})
    };
    use base64::Engine as _;
    let patch = base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(&[op]).expect("json"));
    let answer = serde_json::json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "response": {"uid": uid, "allowed": true, "patchType": "JSONPatch", "patch": patch}
    });
    ([(header::CONTENT_TYPE, "application/json")], Json(answer))
}

fn count(counts: &Counts, version: Version) {
    let counter = if version == Version::HTTP_2 {
        &counts.h2
    } else {
        &counts.h1
    };
    counter.fetch_add(1, Ordering::Relaxed);
}

async fn mutate(State(counts): State<Arc<Counts>>, version: Version, body: Bytes) -> impl IntoResponse {
    count(&counts, version);
    let uid = match serde_json::from_slice::<Review>(&body) {
        Ok(Review { request: Some(r) }) => r.uid.into_owned(),
        _ => {
            counts.bad.fetch_add(1, Ordering::Relaxed);
            String::new()
        }
    };
    let answer = serde_json::json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "response": {"uid": uid, "allowed": true}
    });
    ([(header::CONTENT_TYPE, "application/json")], Json(answer))
}

fn certificates() -> anyhow::Result<(String, String, String)> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "respawn-bench-noop-ca");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;
    let key = KeyPair::generate()?;
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string()])?.signed_by(&key, &ca)?;
    Ok((ca.pem(), cert.pem(), key.serialize_pem()))
}

fn tls(cert_pem: &str, key_pem: &str) -> anyhow::Result<rustls::ServerConfig> {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
    let certs = CertificateDer::pem_slice_iter(cert_pem.as_bytes()).collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())?;
    let mut cfg =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
            .with_no_client_auth()
            .with_single_cert(certs, key)?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(cfg)
}

fn bind() -> anyhow::Result<(TcpListener, SocketAddr)> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    l.set_nonblocking(true)?;
    let addr = l.local_addr()?;
    Ok((l, addr))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (ca_pem, cert_pem, key_pem) = certificates()?;
    let counts = Arc::new(Counts::default());
    let handle: Handle<SocketAddr> = Handle::new();

    let (admission, addr) = bind()?;
    let app = Router::new()
        .route("/mutate", post(mutate))
        .route("/annotate", post(annotate))
        .layer(DefaultBodyLimit::max(4 << 20))
        .with_state(counts.clone());
    let rustls = RustlsConfig::from_config(Arc::new(tls(&cert_pem, &key_pem)?));
    let server = axum_server::from_tcp_rustls(admission, rustls)?.handle(handle.clone());
    tokio::spawn(server.serve(app.into_make_service()));

    let (stats_l, stats_addr) = bind()?;
    let (c, h) = (counts.clone(), handle.clone());
    let stats = Router::new().route(
        "/stats",
        get(move || async move {
            Json(serde_json::json!({
                "h2": c.h2.load(Ordering::Relaxed), "h1": c.h1.load(Ordering::Relaxed),
                "bad": c.bad.load(Ordering::Relaxed), "connections": h.connection_count()
            }))
        }),
    );
    tokio::spawn(axum::serve(tokio::net::TcpListener::from_std(stats_l)?, stats).into_future());

    let hello = serde_json::json!({"url": format!("https://{addr}/mutate"), "ca_pem": ca_pem, "stats": stats_addr.to_string()});
    let mut out = std::io::stdout().lock();
    writeln!(out, "{hello}")?;
    out.flush()?;
    drop(out);
    // Stop when the parent goes away (stdin closed), however it ended.
    tokio::task::spawn_blocking(|| {
        let mut sink = [0u8; 64];
        while matches!(std::io::stdin().read(&mut sink), Ok(n) if n > 0) {}
    })
    .await?;
    Ok(())
}
