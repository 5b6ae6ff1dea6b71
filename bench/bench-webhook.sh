#!/usr/bin/env bash
# respawn-webhook's latency goal: p99 <= 2 ms at 500 req/s, the stack's release binary called
# directly over HTTPS as kube-apiserver calls it (one HTTP/2 connection), cached image, for the
# small and the realistic pod shape (bench/admission/pods/). The old throughput goal (>= 0.8x a
# bare TLS echo) is retired (issue 18): users feel admission through the apiserver, which
# bench-apiserver.sh measures. Bounded: 2 x SECONDS_PER_ROUND plus the stack's start.
# Knobs: RATE (500), SECONDS_PER_ROUND (10), BENCH_SHAPES (small,realistic); stack: bench/stack.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/stack.sh
cargo build --release -q -p respawn-webhook -p respawn-bench
bench_stack_up
target/release/respawn-bench handler "$RESPAWN_STACK_DIR/stack.env"
