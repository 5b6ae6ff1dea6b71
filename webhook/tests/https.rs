//! The real servers over loopback: an HTTPS round trip with a rustls client, certificate reload
//! (in-place rewrite and a Secret-style `..data` symlink swap, with a chain), the operations
//! port, and graceful shutdown draining an in-flight request.

mod common;

use rustls::pki_types::pem::PemObject as _;

use std::{net::SocketAddr, path::Path, sync::Arc, time::Duration};

use common::*;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use respawn_webhook::{config::TlsOptions, images::ImageConfigProvider, server};
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::Value;
use tokio_rustls::TlsConnector;

fn start(provider: impl ImageConfigProvider + 'static, tls: &TlsOptions) -> server::Running {
    start_dyn(Arc::new(provider), tls)
}

fn start_dyn(provider: Arc<dyn ImageConfigProvider>, tls: &TlsOptions) -> server::Running {
    let resolver = respawn_webhook::prepare_tls(tls).expect("TLS set up");
    let listen = server::Listen {
        admission: "127.0.0.1:0".parse().unwrap(),
        ops: "127.0.0.1:0".parse().unwrap(),
        max_body_bytes: 1 << 20,
    };
    let st = state(provider);
    let app = respawn_webhook::admission::router(st.clone(), 1 << 20, 16 << 20);
    server::start(listen, resolver, app, st.metrics.clone()).expect("servers start")
}

fn tls_opts(dir: &Path, cert: Option<&str>, key: Option<&str>) -> TlsOptions {
    TlsOptions {
        tls_cert: cert.map(|c| dir.join(c)),
        tls_key: key.map(|k| dir.join(k)),
        tls_reload_interval: Duration::from_millis(50),
        tls_sans: vec!["respawn-webhook.respawn.svc".into()],
        write_ca: Some(dir.join("ca.pem")),
    }
}

/// One HTTPS request trusting only `ca_pem`; returns status, body and the served chain.
/// Trust store holding every certificate of a PEM bundle.
fn roots(ca_pem: &str) -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    roots
}

async fn https(
    addr: SocketAddr,
    ca_pem: &str,
    method: &str,
    path: &str,
    body: Vec<u8>,
) -> (u16, Vec<u8>, Vec<CertificateDer<'static>>) {
    let cfg = rustls::ClientConfig::builder_with_provider(respawn_webhook::server::tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots(ca_pem))
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let tls = TlsConnector::from(Arc::new(cfg))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("TLS handshake with the trusted CA");
    let chain = tls.get_ref().1.peer_certificates().unwrap().to_vec();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    let status = resp.status().as_u16();
    (
        status,
        resp.into_body().collect().await.unwrap().to_bytes().to_vec(),
        chain,
    )
}

async fn plain_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = http::Request::get(path)
        .header("host", "x")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    let status = resp.status().as_u16();
    (
        status,
        String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap(),
    )
}

#[tokio::test]
async fn https_round_trip_with_self_signed_ca_and_ops_port() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(images(), &tls_opts(dir.path(), None, None));
    let ca = std::fs::read_to_string(dir.path().join("ca.pem")).expect("--write-ca written");
    let input = fixture_json("replicaset-pod.json");
    let (status, body, _) = https(
        running.admission,
        &ca,
        "POST",
        "/mutate?timeout=10s",
        fixture("replicaset-pod.json"),
    )
    .await;
    assert_eq!(status, 200);
    let review: Value = serde_json::from_slice(&body).unwrap();
    let pod = patched(&input, &review["response"]);
    assert_eq!(pod["spec"]["containers"][0]["command"][0], "/respawn/respawn");
    let (s, _, _) = https(running.admission, &ca, "GET", "/mutate", vec![]).await;
    assert_eq!(s, 405);
    assert_eq!(plain_get(running.ops, "/healthz").await, (200, "ok".into()));
    assert_eq!(plain_get(running.ops, "/readyz").await.0, 200);
    let (s, metrics) = plain_get(running.ops, "/metrics").await;
    assert_eq!(s, 200);
    assert!(
        metrics.contains("respawn_webhook_pods_injected_total 1"),
        "{metrics}"
    );
    running.shutdown(Duration::from_secs(5)).await.unwrap();
}

struct Pki {
    root_pem: String,
    chain_pem: String,
    key_pem: String,
}

/// root CA → intermediate → leaf for localhost; the chain file holds leaf + intermediate.
fn pki(cn: &str) -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let root_key = KeyPair::generate().unwrap();
    let mut root = CertificateParams::new(Vec::<String>::new()).unwrap();
    root.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    root.distinguished_name
        .push(DnType::CommonName, format!("{cn} root"));
    let root_cert = root.self_signed(&root_key).unwrap();
    let root_issuer = Issuer::new(root, root_key);
    let mid_key = KeyPair::generate().unwrap();
    let mut mid = CertificateParams::new(Vec::<String>::new()).unwrap();
    mid.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    mid.distinguished_name
        .push(DnType::CommonName, format!("{cn} intermediate"));
    let mid_cert = mid.signed_by(&mid_key, &root_issuer).unwrap();
    let mid_issuer = Issuer::new(mid, mid_key);
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    leaf.distinguished_name.push(DnType::CommonName, cn);
    let leaf_cert = leaf.signed_by(&leaf_key, &mid_issuer).unwrap();
    Pki {
        root_pem: root_cert.pem(),
        chain_pem: leaf_cert.pem() + &mid_cert.pem(),
        key_pem: leaf_key.serialize_pem(),
    }
}

/// Waits (bounded) until the served leaf is `want`'s leaf.
async fn wait_for_leaf(addr: SocketAddr, want: &Pki) {
    let want_leaf = rustls::pki_types::CertificateDer::pem_slice_iter(want.chain_pem.as_bytes())
        .next()
        .unwrap()
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let roots = roots(&want.root_pem);
        let cfg = rustls::ClientConfig::builder_with_provider(respawn_webhook::server::tls::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let res = TlsConnector::from(Arc::new(cfg))
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await;
        if let Ok(s) = res {
            let chain = s.get_ref().1.peer_certificates().unwrap();
            assert_eq!(chain.len(), 2, "leaf and intermediate are served");
            if chain[0] == want_leaf {
                return;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the new certificate was never served"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(unix)]
#[tokio::test]
async fn certificate_reload_on_secret_symlink_swap_and_in_place_rewrite() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The layout the kubelet gives a Secret volume.
    let (a, b, c) = (pki("a"), pki("b"), pki("c"));
    for (name, p) in [("..2026_a", &a), ("..2026_b", &b)] {
        std::fs::create_dir(d.join(name)).unwrap();
        std::fs::write(d.join(name).join("tls.crt"), &p.chain_pem).unwrap();
        std::fs::write(d.join(name).join("tls.key"), &p.key_pem).unwrap();
    }
    symlink("..2026_a", d.join("..data")).unwrap();
    symlink("..data/tls.crt", d.join("tls.crt")).unwrap();
    symlink("..data/tls.key", d.join("tls.key")).unwrap();
    let running = start(images(), &tls_opts(d, Some("tls.crt"), Some("tls.key")));
    assert_eq!(
        std::fs::read_to_string(d.join("ca.pem")).unwrap(),
        a.chain_pem,
        "--write-ca writes the chain"
    );
    wait_for_leaf(running.admission, &a).await;
    let (status, _, _) = https(
        running.admission,
        &a.root_pem,
        "POST",
        "/mutate",
        fixture("deployment.json"),
    )
    .await;
    assert_eq!(status, 200);

    // Atomic swap of ..data, exactly as the kubelet does it.
    symlink("..2026_b", d.join("..data_tmp")).unwrap();
    std::fs::rename(d.join("..data_tmp"), d.join("..data")).unwrap();
    wait_for_leaf(running.admission, &b).await;

    // A broken pair (key of another cert) is refused; the old certificate stays.
    std::fs::remove_file(d.join("tls.crt")).unwrap();
    std::fs::remove_file(d.join("tls.key")).unwrap();
    std::fs::write(d.join("tls.crt"), &c.chain_pem).unwrap();
    std::fs::write(d.join("tls.key"), &a.key_pem).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    wait_for_leaf(running.admission, &b).await;

    // Fixing the key in place is picked up.
    std::fs::write(d.join("tls.key"), &c.key_pem).unwrap();
    wait_for_leaf(running.admission, &c).await;
    running.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test]
async fn shutdown_drains_in_flight_requests() {
    let dir = tempfile::tempdir().unwrap();
    let slow = Recording::new(images().with_delay(Duration::from_millis(700)));
    let running = start_dyn(slow.clone(), &tls_opts(dir.path(), None, None));
    let ca = std::fs::read_to_string(dir.path().join("ca.pem")).unwrap();
    let addr = running.admission;
    let in_flight = tokio::spawn(async move {
        https(
            addr,
            &ca,
            "POST",
            "/mutate?timeout=10s",
            fixture("replicaset-pod.json"),
        )
        .await
    });
    // Wait until the request is being handled (its image lookup has started).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while slow.requests().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "request never arrived");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    running.shutdown(Duration::from_secs(10)).await.unwrap();
    let (status, body, _) = in_flight.await.unwrap();
    assert_eq!(status, 200);
    let review: Value = serde_json::from_slice(&body).unwrap();
    assert!(
        review["response"]["patch"].is_string(),
        "the drained request completed: {review}"
    );
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );
}

#[tokio::test]
async fn tls12_clients_are_served_with_the_ip_san() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(images(), &tls_opts(dir.path(), None, None));
    let ca = std::fs::read_to_string(dir.path().join("ca.pem")).unwrap();
    let roots = roots(&ca);
    let cfg = rustls::ClientConfig::builder_with_provider(respawn_webhook::server::tls::provider())
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(running.admission).await.unwrap();
    let tls = TlsConnector::from(Arc::new(cfg))
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await
        .expect("TLS 1.2 handshake, certificate valid for 127.0.0.1");
    assert_eq!(
        tls.get_ref().1.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
    running.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// kube-apiserver (Go) negotiates HTTP/2 by ALPN; the admission port must speak it.
#[tokio::test]
async fn http2_round_trip_like_the_apiserver() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(images(), &tls_opts(dir.path(), None, None));
    let ca = std::fs::read_to_string(dir.path().join("ca.pem")).unwrap();
    let roots = roots(&ca);
    let mut cfg = rustls::ClientConfig::builder_with_provider(respawn_webhook::server::tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    let tcp = tokio::net::TcpStream::connect(running.admission).await.unwrap();
    let tls = TlsConnector::from(Arc::new(cfg))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(hyper_util::rt::TokioExecutor::new(), TokioIo::new(tls))
            .await
            .unwrap();
    tokio::spawn(conn);
    let req = http::Request::post("https://localhost/mutate?timeout=10s")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(fixture("replicaset-pod.json"))))
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let review: Value = serde_json::from_slice(&body).unwrap();
    assert!(review["response"]["patch"].is_string(), "{review}");
    running.shutdown(Duration::from_secs(5)).await.unwrap();
}
