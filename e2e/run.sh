#!/usr/bin/env bash
# `make e2e`: a fresh local stack (etcd, kube-apiserver, kube-controller-manager, registries,
# respawn-webhook), the e2e suite against it, and the stack torn down again — also on failure.
#   RESPAWN_E2E_KEEP_STACK=1   leave the stack running afterwards (e2e/stack/stack.sh down stops it)
#   RESPAWN_E2E_THREADS=N      concurrent tests (default 4; every test has its own namespace)
#   extra arguments go to `cargo test` (e.g. `e2e/run.sh --test admission -- lookup`)
set -euo pipefail
cd "$(dirname "$0")/.."
export RESPAWN_STACK_DIR="${RESPAWN_STACK_DIR:-$PWD/.stack}"
started=$(date +%s)

finish() {
  local rc=$?
  if [ -z "${RESPAWN_E2E_KEEP_STACK:-}" ]; then
    e2e/stack/stack.sh down
  else
    echo "e2e: stack left running (RESPAWN_E2E_KEEP_STACK); stop it with e2e/stack/stack.sh down" >&2
  fi
  echo "e2e: finished in $(( $(date +%s) - started )) s (rc $rc)" >&2
}
trap finish EXIT

# Build the tests while nothing else runs, then start from a clean stack.
cargo test -p respawn-e2e --no-run
e2e/stack/stack.sh down
e2e/stack/stack.sh up >/dev/null
echo "e2e: stack up after $(( $(date +%s) - started )) s" >&2
case " $* " in *" -- "*) ;; *) set -- "$@" -- ;; esac
cargo test -p respawn-e2e "$@" --test-threads="${RESPAWN_E2E_THREADS:-4}"
