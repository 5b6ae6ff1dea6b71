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
//! The fixture is re-serialized compactly, as kube-apiserver sends it (Go's `json.Marshal`, no
//! indentation); pass `pretty` as the third argument to send the file's own formatting.
//!
//! Usage: `handler_profile [N] [fixture file name under tests/fixtures] [pretty]`

use axum::body::Bytes;
use http_body_util::BodyExt;
use respawn_webhook::{server, static_provider};
use tower::ServiceExt;

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
    let file = std::fs::read(&path).expect("fixture");
    let body = if args.next().as_deref() == Some("pretty") {
        Bytes::from(file)
    } else {
        let doc: serde_json::Value = serde_json::from_slice(&file).expect("fixture JSON");
        Bytes::from(serde_json::to_vec(&doc).expect("JSON"))
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let state = static_provider::benchmark_state();
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
