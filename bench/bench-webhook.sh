#!/usr/bin/env bash
# Admission latency (p50/p99 at a fixed rate) and closed-loop throughput of respawn-webhook over
# HTTPS loopback with a cached image, against a bare axum+rustls echo endpoint in the same run.
# Goals: p99 <= 2 ms at 500 req/s; throughput >= 0.8x the echo's, judged on the median of PAIRS
# back-to-back (echo, webhook) pairs of short closed-loop rounds. Bounded: 4 x 10 s + 2 x PAIRS x 2 s.
# Tunables: RATE, SECONDS_PER_ROUND, CONCURRENCY, TPUT_SECONDS, PAIRS.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p respawn-webhook --example bench_admission
exec target/release/examples/bench_admission \
  --rate "${RATE:-500}" --seconds "${SECONDS_PER_ROUND:-10}" \
  --concurrency "${CONCURRENCY:-32}" --tput-seconds "${TPUT_SECONDS:-2}" --pairs "${PAIRS:-8}"
