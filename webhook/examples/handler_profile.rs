//! Profiling driver for the admission hot path without sockets or TLS: the admission router
//! (parse → decide → mutate → patch → serialize, metrics and the `info!` decision log included)
//! answering one fixture `N` times on a single thread. Meant for
//! `valgrind --tool=callgrind` (instruction counts are repeatable on a busy machine): run it with
//! two values of `N` and divide the difference by the difference of `N` to get the cost of one
//! review without the start-up.
//!
//! Logging is set up as `respawn-webhook` does by default (`logfmt::init`, `info`), writing into a
//! discarding writer so the formatting is counted but the terminal is not flooded.
//!
//! Image lookups go through the production `RegistryProvider` against a real `docker-registry`
//! on loopback (started by `e2e/stack/registry.sh`, test images pushed); every container's image
//! is set to one of those, so after the first review each lookup is a warm cache hit.
//!
//! The fixture is re-serialized compactly, as kube-apiserver sends it (Go's `json.Marshal`, no
//! indentation); pass `pretty` as the third argument to send it indented.
//!
//! Usage: `handler_profile [N] [fixture file name under tests/fixtures] [pretty]`

use axum::body::Bytes;
use http_body_util::BodyExt;
use respawn_webhook::server;
use tower::ServiceExt;

// The registry tests' harness: a real `docker-registry` with the test images pushed.
#[path = "../tests/registry_support/mod.rs"]
#[allow(unused_imports)]
mod registry_support;

// The binary's allocator (see `main.rs`).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .map_or(1000, |s| s.parse().expect("N must be a number"));
    let fixture = args.next().unwrap_or_else(|| "replicaset-pod.json".into());
    respawn_webhook::logfmt::init(tracing_subscriber::EnvFilter::new("info"), false, std::io::sink);
    let path = format!("{}/tests/fixtures/{fixture}", env!("CARGO_MANIFEST_DIR"));
    let (registry, _) = registry_support::open_registry();
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("fixture")).expect("fixture JSON");
    // Every container runs a test image the registry has (the lookups hit the warm cache).
    if let Some(cs) = doc["request"]["object"]["spec"]["containers"].as_array_mut() {
        for c in cs {
            c["image"] = registry.image("oci").into();
        }
    }
    let body = Bytes::from(if args.next().as_deref() == Some("pretty") {
        serde_json::to_vec_pretty(&doc).expect("JSON")
    } else {
        serde_json::to_vec(&doc).expect("JSON")
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let state = registry_support::benchmark_state(registry);
    let router = server::admission_router(state, 1 << 20);
    let bytes = rt.block_on(async {
        let mut total = 0;
        for _ in 0..n {
            let req = http::Request::post("/mutate?timeout=10s")
                .header("content-type", "application/json")
                .body(axum::body::Body::from(body.clone()))
                .expect("request");
            let resp = router.clone().oneshot(req).await.expect("response");
            assert_eq!(resp.status(), 200);
            total += resp.into_body().collect().await.expect("body").to_bytes().len();
        }
        total
    });
    println!(
        "{n} reviews of {fixture}, {} response bytes each",
        bytes / n.max(1)
    );
}
