#!/usr/bin/env bash
# Admission as users feel it (issue 18): pod creates through the real kube-apiserver of the local
# e2e stack, at 1 and 8 concurrent clients, in five modes interleaved round by round:
#   P plain pods, no webhook          F the final pods respawn produces, created directly
#   N plain pods through a webhook that changes nothing (bench/admission/src/bin/noop-webhook.rs)
#   A plain pods through a webhook whose patch adds one annotation (the floor of any mutation)
#   R plain pods injected by the release respawn-webhook (image lookups warm in its cache)
# Prints pods/s and p50/p99 per mode, R/F, N/P, F/P and A/P as medians of per-round ratios with
# their spread, the p50 each webhook adds, CPU per pod by process, the goal (R/F >= N/P - 0.03 and,
# at 1 client, p50 added over F within 0.2 ms of N's over P) and the floor (the same re-anchored
# on A). Method: docs/bench.md.
# Knobs (defaults: about 6 min on 2 cores): BENCH_ROUNDS (40), BENCH_PODS_1 (20), BENCH_PODS_8 (64),
# BENCH_CLIENTS (1,8), BENCH_SHAPES (small,realistic), BENCH_SEED, BENCH_SETTLE_MS (100);
# BENCH_MAX_SECONDS (480), BENCH_MODES (PFNAR); for comparisons only: BENCH_ORDER=fixed,
# BENCH_NAMESPACES=fresh|nowait, BENCH_CONFIGS=churn, BENCH_SKIP_INJECTED=cel|none (label).
# Stack: bench/stack.sh (RESPAWN_STACK_DIR, BENCH_KEEP_STACK).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/stack.sh
cargo build --release -q -p respawn-webhook -p respawn-bench
bench_stack_up
echo "bench-apiserver: $(uptime)"
target/release/respawn-bench apiserver "$RESPAWN_STACK_DIR/stack.env"
