# Sourced by the admission benchmarks: the local e2e stack (docs/e2e.md) in a state directory of
# its own, so `make e2e` in the same checkout (which starts with `stack.sh down`) cannot stop it.
#   RESPAWN_STACK_DIR   default <repo>/.stack-bench
#   BENCH_KEEP_STACK=1  leave it running afterwards; the next benchmark reuses it (a rebuilt
#                       respawn-webhook is restarted) — `e2e/stack/stack.sh down` with the same
#                       RESPAWN_STACK_DIR stops it
# respawn-webhook logs at its default level (info), not the e2e suite's debug.
export RESPAWN_STACK_DIR="${RESPAWN_STACK_DIR:-$PWD/.stack-bench}"
export RESPAWN_WEBHOOK_LOG="${RESPAWN_WEBHOOK_LOG:-info}"
# Admission alone: no scheduler, no node; pods stay Pending (nothing but admission is timed).
export RESPAWN_STACK_ADMISSION_ONLY=1

bench_stack_up() {
  if [ -z "${BENCH_KEEP_STACK:-}" ]; then
    trap 'e2e/stack/stack.sh down >/dev/null 2>&1 || true' EXIT
  fi
  local bin="${RESPAWN_WEBHOOK_BIN:-target/release/respawn-webhook}" pid="$RESPAWN_STACK_DIR/pids/respawn-webhook.pid"
  if [ -f "$pid" ] && [ "$bin" -nt "$pid" ]; then e2e/stack/webhook.sh down; fi
  local t0=$SECONDS
  if ! e2e/stack/stack.sh up >/dev/null; then
    echo "bench: FAILED: the e2e stack (kube-apiserver, etcd, registries, respawn-webhook) did not start" >&2
    exit 1
  fi
  echo "bench: stack up in $((SECONDS - t0)) s ($RESPAWN_STACK_DIR)" >&2
}
