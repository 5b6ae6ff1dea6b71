//! The admission benchmark's load generator: HTTPS connections, fixed-rate latency rounds,
//! closed-loop throughput rounds with the CPU per request of this process's threads.

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use respawn_webhook::server::tls;
use rustls::pki_types::ServerName;
use rustls::pki_types::pem::PemObject as _;
use tokio_rustls::TlsConnector;

/// CPU time (user + system) used so far by this process's threads, in seconds: the calling
/// thread (the load generator runs on it) and all the others (the servers' workers). Read from
/// `/proc/self/task/*/stat`, whose times are in USER_HZ (100 per second on Linux).
pub fn cpu_seconds() -> (f64, f64) {
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

pub type Conn = SendRequest<Full<Bytes>>;

pub async fn connect(addr: SocketAddr, ca_pem: &str) -> Conn {
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
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

pub async fn send(conn: &mut Conn, body: &Bytes) -> Bytes {
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
pub async fn fixed_rate(addr: SocketAddr, ca: &str, body: &Bytes, rate: u64, seconds: u64) -> Vec<Duration> {
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
pub struct Round {
    pub rps: f64,
    pub server_us: f64,
    pub client_us: f64,
}

/// Closed loop: `concurrency` connections (opened before the clock starts), each sending back
/// to back for `seconds`.
pub async fn throughput(addr: SocketAddr, ca: &str, body: &Bytes, concurrency: usize, seconds: u64) -> Round {
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

pub fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1e3
}
