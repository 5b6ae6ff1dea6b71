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
//! Throughput is measured in `--pairs` back-to-back pairs of short closed-loop rounds (echo then
//! webhook, webhook then echo, …) and judged on the median of the pairs' ratios: on a shared VM
//! the speed drifts by ±10 % over tens of seconds, which a pair measured within seconds of
//! itself mostly cancels.
//!
//! Usage: `bench_admission [--rate N] [--seconds S] [--concurrency C] [--tput-seconds S]
//! [--pairs P] [--only echo|webhook]`

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
    pairs: usize,
    /// `--only echo|webhook`: load one target only (for profiling with perf); no ratios.
    only: Option<String>,
}

fn args() -> Args {
    let mut a = Args {
        rate: 500,
        seconds: 10,
        concurrency: 32,
        tput_seconds: 2,
        pairs: 8,
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
            "--pairs" => a.pairs = n.max(1) as usize,
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

/// CPU time (user + system) used so far by this process's threads, in seconds: the calling
/// thread (the load generator runs on it) and all the others (the servers' workers). Read from
/// `/proc/self/task/*/stat`, whose times are in USER_HZ (100 per second on Linux).
fn cpu_seconds() -> (f64, f64) {
    let me = std::fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
    let (mut mine, mut others) = (0u64, 0u64);
    for task in std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .flatten()
    {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue; // the thread ended
        };
        // Fields after the command's closing parenthesis: state is field 3, utime 14, stime 15.
        let rest = &stat[stat.rfind(')').expect("stat format") + 1..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks = f[11].parse::<u64>().expect("utime") + f[12].parse::<u64>().expect("stime");
        if me.as_deref() == Some(&*task.file_name().to_string_lossy()) {
            mine += ticks;
        } else {
            others += ticks;
        }
    }
    (mine as f64 / 100.0, others as f64 / 100.0)
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

/// One closed-loop round: requests per second, and CPU per request of the server threads and
/// of the load generator.
struct Round {
    rps: f64,
    server_us: f64,
    client_us: f64,
}

/// Closed loop: `concurrency` connections (opened before the clock starts), each sending back
/// to back for `seconds`.
async fn throughput(addr: SocketAddr, ca: &str, body: &Bytes, concurrency: usize, seconds: u64) -> Round {
    let mut conns = Vec::new();
    for _ in 0..concurrency {
        conns.push(connect(addr, ca).await);
    }
    let (client0, server0) = cpu_seconds();
    let start = Instant::now();
    let end = start + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for mut conn in conns {
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
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
    let elapsed = start.elapsed().as_secs_f64();
    let (client1, server1) = cpu_seconds();
    let per = |cpu: f64| cpu * 1e6 / n.max(1) as f64;
    Round {
        rps: n as f64 / elapsed,
        server_us: per(server1 - server0),
        client_us: per(client1 - client0),
    }
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
        let targets = [("echo", echo), ("webhook", webhook.admission)];
        let chosen = |name: &str| a.only.as_deref().is_none_or(|o| o == name);
        println!(
            "{:<10} {:>10} {:>10} {:>10}",
            "latency", "p50 ms", "p99 ms", "max ms"
        );
        let mut lat_rows = Vec::new();
        for (name, addr) in [targets[0], targets[1], targets[0], targets[1]] {
            if !chosen(name) {
                continue;
            }
            let lat = fixed_rate(addr, &ca, &body, a.rate, a.seconds).await;
            let row = (name, pct(&lat, 0.50), pct(&lat, 0.99), pct(&lat, 1.0));
            println!("{:<10} {:>10.3} {:>10.3} {:>10.3}", row.0, row.1, row.2, row.3);
            lat_rows.push(row);
        }
        println!(
            "{:<10} {:>6} {:>12} {:>14} {:>14}",
            "throughput", "pair", "req/s", "server us/req", "client us/req"
        );
        let mut pairs: Vec<(f64, f64)> = Vec::new();
        for p in 0..a.pairs {
            // Alternate which target goes first, so a drift does not favour one of them.
            let order = if p % 2 == 0 { [0, 1] } else { [1, 0] };
            let mut got = [0.0f64; 2];
            for t in order {
                let (name, addr) = targets[t];
                if !chosen(name) {
                    continue;
                }
                let r = throughput(addr, &ca, &body, a.concurrency, a.tput_seconds).await;
                println!(
                    "{:<10} {:>6} {:>12.0} {:>14.1} {:>14.1}",
                    name,
                    p + 1,
                    r.rps,
                    r.server_us,
                    r.client_us
                );
                got[t] = r.rps;
            }
            pairs.push((got[0], got[1]));
        }
        if a.only.is_some() {
            return;
        }
        let best = |n: &str| {
            lat_rows
                .iter()
                .filter(|r| r.0 == n)
                .fold((f64::MAX, f64::MAX), |acc, r| (acc.0.min(r.1), acc.1.min(r.2)))
        };
        let (e, w) = (best("echo"), best("webhook"));
        println!(
            "latency: {} req/s for {} s per round (best round shown); throughput: {} connections, \
             {} pairs of {} s rounds",
            a.rate, a.seconds, a.concurrency, a.pairs, a.tput_seconds
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
        let mut ratios: Vec<f64> = pairs.iter().map(|(e, w)| w / e).collect();
        ratios.sort_by(f64::total_cmp);
        let median = if ratios.len() % 2 == 1 {
            ratios[ratios.len() / 2]
        } else {
            (ratios[ratios.len() / 2 - 1] + ratios[ratios.len() / 2]) / 2.0
        };
        let mean = |f: fn(&(f64, f64)) -> f64| pairs.iter().map(f).sum::<f64>() / pairs.len() as f64;
        println!(
            "throughput webhook {:.0} req/s, echo {:.0} req/s (means); webhook/echo per pair: \
             median {:.2}, min {:.2}, max {:.2} (goal median >= 0.80: {})",
            mean(|p| p.1),
            mean(|p| p.0),
            median,
            ratios[0],
            ratios[ratios.len() - 1],
            if median >= 0.8 { "met" } else { "MISSED" }
        );
    });
    server_rt.block_on(async { webhook.shutdown(Duration::from_secs(2)).await.expect("shutdown") });
}
