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
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{Router, body::Bytes, routing::post};
use http_body_util::BodyExt;
use respawn_webhook::{admission::AppState, server, server::tls};

// The registry tests' harness: a real `docker-registry` with the test images pushed.
#[path = "../tests/registry_support/mod.rs"]
#[allow(unused_imports)]
mod registry_support;

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

// The load generator: connections, latency and throughput rounds.
#[path = "support/load.rs"]
mod load;
use load::{connect, fixed_rate, pct, send, throughput};

/// The admission router alone, without sockets or TLS: what the webhook's own work costs.
async fn handler_cost(state: Arc<AppState>, body: &Bytes) -> f64 {
    use tower::ServiceExt;
    let router = respawn_webhook::admission::router(state, 1 << 20, 16 << 20);
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

/// The binary's default logging (tracing-subscriber's text format at `info`, no ANSI as when
/// not a terminal), into /dev/null.
fn default_logging() {
    let sink = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/null")
        .expect("/dev/null");
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(sink))
        .init();
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
        let running = server::start(
            listen,
            tls::ReloadingResolver::new(key.clone()),
            respawn_webhook::admission::router(state.clone(), 1 << 20, 16 << 20),
            state.metrics.clone(),
        )
        .expect("webhook");
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
