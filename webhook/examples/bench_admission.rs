//! Admission benchmark (run by `bench/bench-webhook.sh`): latency at a fixed request rate and
//! closed-loop throughput over HTTPS loopback, for the real admission server (cached image: the
//! production `RegistryProvider` against a real registry on loopback, cache warm after the first
//! admission) and, in the same run, a bare axum + rustls endpoint that reads the body and answers
//! with a canned body of the webhook's answer size — the anchor.
//!
//! Like-for-like: the request body is the fixture serialized compactly, as kube-apiserver sends
//! it; the echo reads the whole body and writes as many bytes as the webhook (its answer to the
//! probe, `application/json`); the webhook logs each decision as the binary does by default
//! (fmt layer at `info`), into `/dev/null` so the write is paid but the terminal is not flooded.
//!
//! Usage: `bench_admission [--rate N] [--seconds S] [--concurrency C] [--tput-seconds S]
//! [--only echo|webhook]`

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{Router, body::Bytes, routing::post};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use respawn_webhook::{handler::AppState, server, tls};
use rustls::pki_types::ServerName;
use tokio_rustls::TlsConnector;

// The registry tests' harness: a real `docker-registry` with the test images pushed.
#[path = "../tests/registry_support/mod.rs"]
#[allow(unused_imports)]
mod registry_support;

// The binary's allocator (see `main.rs`); the echo, in this process, gets it too.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Args {
    rate: u64,
    seconds: u64,
    concurrency: usize,
    tput_seconds: u64,
    /// `--only echo|webhook`: load one target only (for profiling with perf); no ratios.
    only: Option<String>,
}

fn args() -> Args {
    let mut a = Args {
        rate: 500,
        seconds: 10,
        concurrency: 32,
        tput_seconds: 5,
        only: None,
    };
    let v: Vec<String> = std::env::args().skip(1).collect();
    for pair in v.chunks(2) {
        if pair[0] == "--only" {
            a.only = pair.get(1).cloned();
            continue;
        }
        let n: u64 = pair
            .get(1)
            .and_then(|s| s.parse().ok())
            .expect("numeric flag value");
        match pair[0].as_str() {
            "--rate" => a.rate = n,
            "--seconds" => a.seconds = n,
            "--concurrency" => a.concurrency = n as usize,
            "--tput-seconds" => a.tput_seconds = n,
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

type Conn = SendRequest<Full<Bytes>>;

async fn connect(addr: SocketAddr, ca_pem: &str) -> Conn {
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pemfile::certs(&mut ca_pem.as_bytes()) {
        roots.add(c.expect("CA PEM")).expect("CA cert");
    }
    let cfg = rustls::ClientConfig::builder_with_provider(tls::provider())
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    tcp.set_nodelay(true).expect("nodelay");
    let stream = TlsConnector::from(Arc::new(cfg))
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await
        .expect("TLS handshake");
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("HTTP handshake");
    tokio::spawn(conn);
    sender
}

async fn send(conn: &mut Conn, body: &Bytes) -> Bytes {
    conn.ready().await.expect("connection ready");
    let req = http::Request::post("/mutate?timeout=10s")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(Full::new(body.clone()))
        .expect("request");
    let resp = conn.send_request(req).await.expect("response");
    assert_eq!(resp.status(), 200);
    resp.into_body().collect().await.expect("body").to_bytes()
}

/// Fixed-rate load: request i is due at t0 + i/rate; a request sent late because the previous
/// one on its connection was slow is charged from its due time (no coordinated omission).
async fn fixed_rate(addr: SocketAddr, ca: &str, body: &Bytes, rate: u64, seconds: u64) -> Vec<Duration> {
    let workers = 16u64;
    let total = rate * seconds;
    let interval = Duration::from_nanos(1_000_000_000 / rate);
    let t0 = tokio::time::Instant::now() + Duration::from_millis(200);
    let mut tasks = Vec::new();
    for k in 0..workers {
        let (ca, body) = (ca.to_string(), body.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = connect(addr, &ca).await;
            let mut lat = Vec::new();
            let mut i = k;
            while i < total {
                let due = t0 + interval * i as u32;
                // On time: count from the actual send (tokio's timer is 1 ms coarse, its lateness
                // is not the server's). Behind schedule: count from the due time (queueing).
                let start = if tokio::time::Instant::now() < due {
                    tokio::time::sleep_until(due).await;
                    tokio::time::Instant::now()
                } else {
                    due
                };
                send(&mut conn, &body).await;
                lat.push(start.elapsed());
                i += workers;
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("worker"));
    }
    all.sort();
    all
}

/// Closed loop: `concurrency` connections, each sending back to back for `seconds`.
async fn throughput(addr: SocketAddr, ca: &str, body: &Bytes, concurrency: usize, seconds: u64) -> f64 {
    let start = Instant::now();
    let end = start + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (ca, body) = (ca.to_string(), body.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = connect(addr, &ca).await;
            let mut n = 0u64;
            while Instant::now() < end {
                send(&mut conn, &body).await;
                n += 1;
            }
            n
        }));
    }
    let mut n = 0;
    for t in tasks {
        n += t.await.expect("worker");
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1e3
}

/// The admission router alone, without sockets or TLS: what the webhook's own work costs.
async fn handler_cost(state: Arc<AppState>, body: &Bytes) -> f64 {
    use tower::ServiceExt;
    let router = server::admission_router(state, 1 << 20);
    let n = 20_000;
    let start = Instant::now();
    for _ in 0..n {
        let req = http::Request::post("/mutate?timeout=10s")
            .body(axum::body::Body::from(body.clone()))
            .expect("request");
        let resp = router.clone().oneshot(req).await.expect("response");
        resp.into_body().collect().await.expect("body");
    }
    start.elapsed().as_secs_f64() * 1e6 / n as f64
}

/// The binary's default logging (`main.rs`: `logfmt::init`, `info`, no ANSI as when not a terminal).
fn default_logging() {
    let sink = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/null")
        .expect("/dev/null");
    respawn_webhook::logfmt::init(tracing_subscriber::EnvFilter::new("info"), false, Arc::new(sink));
}

/// The fixture as the apiserver sends it (compact JSON), its container's image replaced by
/// `image`.
fn review_body(image: &str) -> Bytes {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/replicaset-pod.json");
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).expect("fixture")).expect("fixture JSON");
    doc["request"]["object"]["spec"]["containers"][0]["image"] = image.into();
    Bytes::from(serde_json::to_vec(&doc).expect("JSON"))
}

fn main() {
    let a = args();
    tls::provider();
    default_logging();
    let (registry, _) = registry_support::open_registry();
    let body = review_body(&registry.image("oci"));
    // The echo's answer: as many bytes as the webhook's (filled in by the probe below).
    let canned: Arc<std::sync::OnceLock<Bytes>> = Arc::default();
    // Servers on their own runtime (2 threads), the load generator on another thread.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("rt");
    let s = tls::self_signed(&[]).expect("cert");
    let key = tls::from_pem(s.cert_pem.as_bytes(), s.key_pem.as_bytes()).expect("key");
    let (webhook, echo, state) = server_rt.block_on(async {
        let state = registry_support::benchmark_state(registry);
        let listen = server::Listen {
            admission: "127.0.0.1:0".parse().expect("addr"),
            ops: "127.0.0.1:0".parse().expect("addr"),
            max_body_bytes: 1 << 20,
        };
        let running =
            server::start(listen, tls::ReloadingResolver::new(key.clone()), state.clone()).expect("webhook");
        let echo_cfg = tls::server_config(tls::ReloadingResolver::new(key)).expect("tls");
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.set_nonblocking(true).expect("nonblocking");
        let echo_addr = l.local_addr().expect("addr");
        let answer = canned.clone();
        let app = Router::new().route(
            "/mutate",
            post(move |b: Bytes| async move {
                drop(b);
                let body = answer.get().expect("probe ran").clone();
                ([(http::header::CONTENT_TYPE, "application/json")], body)
            }),
        );
        let rustls = axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(echo_cfg));
        let srv = axum_server::from_tcp_rustls(l, rustls).expect("echo");
        tokio::spawn(srv.serve(app.into_make_service()));
        (running, echo_addr, state)
    });
    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let ca = s.ca_pem.clone();
    client_rt.block_on(async {
        let mut probe = connect(webhook.admission, &ca).await;
        let raw = send(&mut probe, &body).await;
        let answer: serde_json::Value = serde_json::from_slice(&raw).expect("JSON");
        assert!(
            answer["response"]["patch"].is_string(),
            "the webhook must inject: {answer}"
        );
        let answer_len = raw.len();
        canned.set(raw).expect("set once");
        println!(
            "admission benchmark: HTTPS loopback, HTTP/1.1 keep-alive, cached image, request {} bytes \
             (compact JSON), answer {} bytes (echo answers the same size), info logging to /dev/null",
            body.len(),
            answer_len
        );
        println!(
            "handler alone (no socket, no TLS): {:.1} us per review",
            handler_cost(state.clone(), &body).await
        );
        println!(
            "{:<10} {:>10} {:>10} {:>10} {:>14}",
            "target", "p50 ms", "p99 ms", "max ms", "closed req/s"
        );
        let mut rows = Vec::new();
        for (name, addr) in [
            ("echo", echo),
            ("webhook", webhook.admission),
            ("echo", echo),
            ("webhook", webhook.admission),
        ] {
            if a.only.as_deref().is_some_and(|o| o != name) {
                continue;
            }
            let lat = fixed_rate(addr, &ca, &body, a.rate, a.seconds).await;
            let tput = throughput(addr, &ca, &body, a.concurrency, a.tput_seconds).await;
            let row = (name, pct(&lat, 0.50), pct(&lat, 0.99), pct(&lat, 1.0), tput);
            println!(
                "{:<10} {:>10.3} {:>10.3} {:>10.3} {:>14.0}",
                row.0, row.1, row.2, row.3, row.4
            );
            rows.push(row);
        }
        if a.only.is_some() {
            return;
        }
        // Best of the two rounds for each target (warm caches, less noise from neighbours).
        let best = |n: &str| {
            rows.iter()
                .filter(|r| r.0 == n)
                .fold((f64::MAX, f64::MAX, 0.0f64), |acc, r| {
                    (acc.0.min(r.1), acc.1.min(r.2), acc.2.max(r.4))
                })
        };
        let (e, w) = (best("echo"), best("webhook"));
        println!(
            "rate {} req/s for {} s per round; throughput: {} connections for {} s",
            a.rate, a.seconds, a.concurrency, a.tput_seconds
        );
        println!(
            "webhook p50 {:.3} ms, p99 {:.3} ms at {} req/s (goal p99 <= 2 ms: {})",
            w.0,
            w.1,
            a.rate,
            if w.1 <= 2.0 { "met" } else { "MISSED" }
        );
        println!(
            "echo    p50 {:.3} ms, p99 {:.3} ms; webhook/echo p99 ratio {:.2}",
            e.0,
            e.1,
            w.1 / e.1
        );
        let ratio = w.2 / e.2;
        println!(
            "throughput webhook {:.0} req/s, echo {:.0} req/s, ratio {:.2} (goal >= 0.80: {})",
            w.2,
            e.2,
            ratio,
            if ratio >= 0.8 { "met" } else { "MISSED" }
        );
    });
    server_rt.block_on(async { webhook.shutdown(Duration::from_secs(2)).await.expect("shutdown") });
}
