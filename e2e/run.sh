#!/usr/bin/env bash
# `make e2e`: a fresh local stack (etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
# registries, respawn-webhook, a kubelet + containerd node), the e2e suite against it, and the
# stack torn down again — also on failure. The final `stack.sh down` fails the run when the node
# leaves anything on the host (mounts, cgroups, network namespaces, processes).
#   RESPAWN_E2E_KEEP_STACK=1   leave the stack running afterwards (e2e/stack/stack.sh down stops it)
#   RESPAWN_E2E_THREADS=N      concurrent tests (default 4; every test has its own namespace)
#   extra arguments go to `cargo test` (e.g. `e2e/run.sh --test admission -- lookup`)
# A full run (no arguments) then runs the admission suite a second time in existing-cluster mode
# (e2e/stack/cluster-suite.sh, exactly as `make kind-e2e` does) against the same local stack,
# described only by a cluster env file (KUBECONFIG, REGISTRY_HOST): the kind path, proven here.
#   RESPAWN_E2E_NO_CLUSTER_PASS=1   skip that second pass
set -euo pipefail
cd "$(dirname "$0")/.."
export RESPAWN_STACK_DIR="${RESPAWN_STACK_DIR:-$PWD/.stack}"
started=$(date +%s)

finish() {
  local rc=$?
  if [ -z "${RESPAWN_E2E_KEEP_STACK:-}" ]; then
    if ! e2e/stack/stack.sh down; then
      echo "e2e: FAILED: the stack's node left the traces listed above on the host" >&2
      [ $rc -ne 0 ] || rc=1
    fi
  else
    echo "e2e: stack left running (RESPAWN_E2E_KEEP_STACK); stop it with e2e/stack/stack.sh down" >&2
  fi
  echo "e2e: finished in $(( $(date +%s) - started )) s (rc $rc)" >&2
  exit $rc
}
trap finish EXIT

# Build the tests while nothing else runs, then start from a clean stack.
cargo test -p respawn-e2e --no-run
e2e/stack/stack.sh down
e2e/stack/stack.sh up >/dev/null
echo "e2e: stack up after $(( $(date +%s) - started )) s" >&2
full=$([ $# -eq 0 ] && echo 1 || true)
case " $* " in *" -- "*) ;; *) set -- "$@" -- ;; esac
cargo test -p respawn-e2e "$@" --test-threads="${RESPAWN_E2E_THREADS:-4}"
echo "e2e: local suites passed after $(( $(date +%s) - started )) s" >&2

if [ -n "$full" ] && [ -z "${RESPAWN_E2E_NO_CLUSTER_PASS:-}" ]; then
  # The local stack seen as an existing cluster: only what a kind cluster's env file holds.
  kubeconfig="$(sed -n "s/^export KUBECONFIG='\(.*\)'$/\1/p" "$RESPAWN_STACK_DIR/stack.env")"
  registry_port="$(sed -n "s/^export REGISTRY_PORT='\(.*\)'$/\1/p" "$RESPAWN_STACK_DIR/stack.env")"
  cluster_env="$RESPAWN_STACK_DIR/cluster.env"
  printf "export KUBECONFIG='%s'\nexport REGISTRY_HOST='127.0.0.1:%s'\nexport RESPAWN_CLUSTER='local-stack-as-existing-cluster'\n" \
    "$kubeconfig" "$registry_port" >"$cluster_env"
  pass=$(date +%s)
  e2e/stack/cluster-suite.sh "$cluster_env"
  echo "e2e: existing-cluster pass took $(( $(date +%s) - pass )) s" >&2
fi
