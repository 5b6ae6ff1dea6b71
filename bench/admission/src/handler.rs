//! The handler's latency goal (p99 ≤ 2 ms at 500 req/s): the stack's release respawn-webhook,
//! called directly over HTTPS the way kube-apiserver calls it (one HTTP/2 connection,
//! `POST /mutate?timeout=10s`), at a fixed rate, with reviews whose `request.object` is what the
//! apiserver hands webhooks for each pod shape (a dry-run create in a namespace without
//! webhooks: defaulted, ServiceAccount token mounted). The image is cached (warm-up requests).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::{Value, json};

use crate::client::{connect_h2, tls_config};
use crate::cluster::Cluster;
use crate::shapes;
use crate::stats::quantile;

/// The goal.
pub const P99_GOAL_MS: f64 = 2.0;

/// Latencies of one shape at the fixed rate.
pub struct Latency {
    /// Shape name.
    pub shape: String,
    /// Review size in bytes.
    pub bytes: usize,
    /// Every request's latency, ms.
    pub ms: Vec<f64>,
    /// respawn-webhook's CPU time per review during the fixed-rate part, µs.
    pub cpu_us: f64,
}

/// An AdmissionReview v1 for creating `pod` (as stored by a dry run) in `ns`.
fn review(pod: &Value, ns: &str) -> Bytes {
    let name = pod["metadata"]["name"].clone();
    let gvk = json!({"group": "", "version": "v1", "kind": "Pod"});
    let gvr = json!({"group": "", "version": "v1", "resource": "pods"});
    let doc = json!({
        "kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1",
        "request": {
            "uid": "6c5f2a7e-0d1b-4c1e-9f3a-1b2c3d4e5f60", "kind": gvk, "resource": gvr,
            "requestKind": gvk, "requestResource": gvr, "name": name, "namespace": ns,
            "operation": "CREATE",
            "userInfo": {"username": "respawn-admin", "groups": ["system:masters", "system:authenticated"]},
            "object": pod, "oldObject": null, "dryRun": false,
            "options": {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"}
        }
    });
    Bytes::from(serde_json::to_vec(&doc).expect("JSON"))
}

/// Runs the fixed-rate check for every shape; prints and returns the latencies.
pub async fn run(
    cluster: &Cluster,
    shapes_: &[String],
    rate: u64,
    seconds: u64,
    ns: &str,
) -> Result<Vec<Latency>> {
    let registry = cluster.stack.registry()?;
    let addr: SocketAddr = format!("127.0.0.1:{}", cluster.stack.var("WEBHOOK_PORT")?).parse()?;
    let ca = std::fs::read(cluster.stack.var("WEBHOOK_CA")?).context("the webhook's CA")?;
    let tls = tls_config(&ca, &[b"h2", b"http/1.1"])?;
    let conn = connect_h2(addr, tls).await?;
    let pid = cluster.pid("respawn-webhook");
    let mut out = Vec::new();
    for shape in shapes_ {
        let mut pod = shapes::load(shape, &registry)?;
        pod["metadata"]["name"] = format!("handler-{shape}").into();
        let stored = cluster.create_pod(ns, &pod, true).await?;
        let body = review(&stored, ns);
        // Warm-up: the image lookups reach respawn's cache; every answer must inject.
        for _ in 0..100 {
            let answer = send(&conn, &body).await?;
            ensure!(
                String::from_utf8_lossy(&answer).contains("\"patch\""),
                "respawn-webhook did not inject the {shape} review: {}",
                String::from_utf8_lossy(&answer)
            );
        }
        let cpu0 = pid.map_or(0, crate::cpu::cpu_ns);
        let ms = fixed_rate(&conn, &body, rate, seconds).await?;
        let cpu = pid.map_or(0, crate::cpu::cpu_ns).saturating_sub(cpu0);
        out.push(Latency {
            shape: shape.clone(),
            bytes: body.len(),
            cpu_us: cpu as f64 / 1e3 / ms.len().max(1) as f64,
            ms,
        });
    }
    Ok(out)
}

async fn send(conn: &hyper::client::conn::http2::SendRequest<Full<Bytes>>, body: &Bytes) -> Result<Bytes> {
    let mut c = conn.clone();
    c.ready().await?;
    let req = http::Request::post("https://127.0.0.1/mutate?timeout=10s")
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::ACCEPT, "application/json")
        .body(Full::new(body.clone()))?;
    let resp = c.send_request(req).await?;
    ensure!(
        resp.status() == 200,
        "respawn-webhook answered HTTP {}",
        resp.status()
    );
    Ok(resp.into_body().collect().await?.to_bytes())
}

/// Request `i` is due at `t0 + i/rate`, sent by one of 16 workers sharing the connection. On
/// time, a latency counts from the actual send (tokio's timer is 1 ms coarse; its lateness is not
/// the server's); behind schedule, from the due time (queueing counts, no coordinated omission).
async fn fixed_rate(
    conn: &hyper::client::conn::http2::SendRequest<Full<Bytes>>,
    body: &Bytes,
    rate: u64,
    seconds: u64,
) -> Result<Vec<f64>> {
    let workers = 16u64;
    let total = rate * seconds;
    let interval = Duration::from_nanos(1_000_000_000 / rate.max(1));
    let t0 = tokio::time::Instant::now() + Duration::from_millis(100);
    let mut tasks = tokio::task::JoinSet::new();
    for k in 0..workers {
        let (conn, body) = (conn.clone(), body.clone());
        tasks.spawn(async move {
            let mut lat = Vec::new();
            let mut i = k;
            while i < total {
                let due = t0 + interval * i as u32;
                let start = if tokio::time::Instant::now() < due {
                    tokio::time::sleep_until(due).await;
                    tokio::time::Instant::now()
                } else {
                    due
                };
                send(&conn, &body).await?;
                lat.push(start.elapsed().as_secs_f64() * 1e3);
                i += workers;
            }
            anyhow::Ok(lat)
        });
    }
    let mut all = Vec::new();
    while let Some(r) = tasks.join_next().await {
        all.extend(r??);
    }
    Ok(all)
}

/// Prints the latencies and the goal; true when every shape meets it.
pub fn print(results: &[Latency], rate: u64, seconds: u64) -> bool {
    let mut ok = true;
    println!(
        "  {:<10} {:>8} {:>8} {:>8} {:>8} {:>8} {:>14}",
        "shape", "bytes", "p50 ms", "p99 ms", "max ms", "requests", "CPU/review µs"
    );
    for r in results {
        let p99 = quantile(&r.ms, 0.99);
        ok &= p99 <= P99_GOAL_MS;
        println!(
            "  {:<10} {:>8} {:>8.3} {:>8.3} {:>8.3} {:>8} {:>14.0}",
            r.shape,
            r.bytes,
            quantile(&r.ms, 0.5),
            p99,
            quantile(&r.ms, 1.0),
            r.ms.len(),
            r.cpu_us
        );
    }
    println!(
        "goal p99 ≤ {P99_GOAL_MS} ms at {rate} req/s ({seconds} s per shape): {}",
        if ok { "PASS" } else { "MISS" }
    );
    ok
}
