//! The load generator: a pool of HTTP/2 connections (hyper over rustls, TLS verified against the
//! stack's CA, the admin bearer token) to kube-apiserver, and closed-loop segments of pod creates
//! on it. Bodies are serialised before a segment starts; a create is timed from the request to
//! the last byte of the apiserver's answer (the stored pod, JSON, as `kubectl create` asks).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};

/// One pod create of a segment: the request path and the serialised pod.
#[derive(Clone)]
pub struct Create {
    /// `/api/v1/namespaces/NS/pods`.
    pub path: String,
    /// The pod, JSON.
    pub body: Bytes,
}

/// What a created pod's answer must show, checked after timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Carries `respawn.dev/status: injected` (R: injected by the webhook; F: spelled that way).
    Injected,
    /// Carries no `respawn.dev/status` (P, N: no webhook changed it).
    Plain,
}

/// A segment's measurements.
#[derive(Debug, Clone, Default)]
pub struct Segment {
    /// Latency of every create, in ms.
    pub latencies_ms: Vec<f64>,
    /// From the first request to the last answer.
    pub wall: Duration,
}

impl Segment {
    /// Creates per second over the segment's wall time.
    pub fn pods_per_s(&self) -> f64 {
        self.latencies_ms.len() as f64 / self.wall.as_secs_f64()
    }
}

/// HTTP/2 connections to one apiserver.
#[derive(Clone)]
pub struct Pool {
    conns: Vec<SendRequest<Full<Bytes>>>,
    authority: String,
    bearer: Arc<str>,
}

/// A rustls client config trusting `ca_pem`, offering `alpn`.
pub fn tls_config(ca_pem: &[u8], alpn: &[&[u8]]) -> Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem) {
        roots.add(cert.context("reading the CA PEM")?)?;
    }
    let mut cfg =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(cfg))
}

/// One HTTP/2 connection to `addr` over TLS (fails unless the server picks h2 by ALPN).
pub async fn connect_h2(
    addr: SocketAddr,
    tls: Arc<rustls::ClientConfig>,
) -> Result<SendRequest<Full<Bytes>>> {
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    tcp.set_nodelay(true)?;
    let stream = tokio_rustls::TlsConnector::from(tls)
        .connect(ServerName::IpAddress(addr.ip().into()), tcp)
        .await
        .with_context(|| format!("TLS handshake with {addr}"))?;
    ensure!(
        stream.get_ref().1.alpn_protocol() == Some(b"h2"),
        "{addr} did not choose HTTP/2 by ALPN"
    );
    let (send, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
        .await
        .with_context(|| format!("HTTP/2 handshake with {addr}"))?;
    tokio::spawn(conn);
    Ok(send)
}

impl Pool {
    /// `n` connections to the apiserver at `addr`, authenticating with `token`.
    pub async fn connect(addr: SocketAddr, ca_pem: &[u8], token: &str, n: usize) -> Result<Pool> {
        let tls = tls_config(ca_pem, &[b"h2"])?;
        let mut conns = Vec::with_capacity(n);
        for _ in 0..n {
            conns.push(connect_h2(addr, tls.clone()).await?);
        }
        Ok(Pool {
            conns,
            authority: addr.to_string(),
            bearer: format!("Bearer {token}").into(),
        })
    }

    /// POSTs `body` to `path` on connection `conn`: (status, answer).
    pub async fn post(&self, conn: usize, path: &str, body: Bytes) -> Result<(u16, Bytes)> {
        let req = http::Request::post(format!("https://{}{path}", self.authority))
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::ACCEPT, "application/json")
            .header(http::header::AUTHORIZATION, &*self.bearer)
            .body(Full::new(body))?;
        let mut send = self.conns[conn % self.conns.len()].clone();
        send.ready().await.context("apiserver connection")?;
        let resp = send.send_request(req).await.context("sending a create")?;
        let status = resp.status().as_u16();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .context("reading an answer")?
            .to_bytes();
        Ok((status, bytes))
    }

    /// Creates every pod of `creates` with `clients` concurrent closed-loop workers (worker `w`
    /// on connection `w`), timing each; then checks every answer against `expect`.
    pub async fn segment(
        &self,
        creates: Arc<Vec<Create>>,
        clients: usize,
        expect: Expect,
    ) -> Result<Segment> {
        let next = Arc::new(AtomicUsize::new(0));
        let mut workers = tokio::task::JoinSet::new();
        let start = Instant::now();
        for w in 0..clients {
            let (pool, creates, next) = (self.clone(), creates.clone(), next.clone());
            workers.spawn(async move {
                let mut done = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(c) = creates.get(i) else { break };
                    let t = Instant::now();
                    let answer = pool.post(w, &c.path, c.body.clone()).await?;
                    done.push((t.elapsed(), answer));
                }
                anyhow::Ok(done)
            });
        }
        let mut answers = Vec::with_capacity(creates.len());
        while let Some(r) = workers.join_next().await {
            answers.extend(r??);
        }
        let wall = start.elapsed();
        let mut latencies_ms = Vec::with_capacity(answers.len());
        for (took, (status, body)) in answers {
            check(status, &body, expect)?;
            latencies_ms.push(took.as_secs_f64() * 1e3);
        }
        Ok(Segment { latencies_ms, wall })
    }

    /// One timed create on connection 0, checked against `expect`: its latency in ms.
    pub async fn create_one(&self, create: &Create, expect: Expect) -> Result<f64> {
        let t = Instant::now();
        let (status, body) = self.post(0, &create.path, create.body.clone()).await?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        check(status, &body, expect)?;
        Ok(ms)
    }
}

/// A create's answer must be HTTP 201 and the pod `expect`ed.
fn check(status: u16, body: &[u8], expect: Expect) -> Result<()> {
    if status != 201 {
        bail!(
            "a create answered HTTP {status}: {}",
            String::from_utf8_lossy(body)
        );
    }
    let injected = contains(body, br#""respawn.dev/status":"injected""#);
    ensure!(
        injected == (expect == Expect::Injected),
        "a created pod should be {expect:?} but is {}: {}",
        if injected { "injected" } else { "plain" },
        String::from_utf8_lossy(body)
    );
    Ok(())
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}
