#!/usr/bin/env bash
# The admission e2e suite (e2e/tests/admission) against an EXISTING cluster, described by an env
# file (`export NAME='value'` lines), without starting the local stack. Used by `make kind-e2e`
# (e2e/kind.sh) and by e2e/run.sh, which points it at the local stack as if it were a cluster.
#   cluster-suite.sh ENV_FILE [cargo test filter/flags after --]
# The env file:
#   KUBECONFIG         admin kubeconfig of the cluster (required)
#   REGISTRY_HOST      host:port of the registry holding test-images.sh's images, as the cluster's
#                      nodes and the webhook reach it (required)
#   WEBHOOK_NAMESPACE  where respawn-webhook runs (for failure dumps; optional)
#   RESPAWN_CLUSTER    a name for messages (optional)
# Meant for throw-away clusters: it creates and deletes namespaces, creates pods and a Deployment,
# and labels kube-system respawn.dev/inject=enabled for one test (removed again at its end).
# Tests under `local_only::` need what only the local stack has; they are skipped by name here
# (cargo reports them as "filtered out") and listed loudly as NOT RUN before and after the run.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
say() { echo "cluster-suite: $*" >&2; }
die() { echo "cluster-suite: error: $*" >&2; exit 2; }

[ $# -ge 1 ] || die "usage: cluster-suite.sh ENV_FILE [-- cargo test arguments]"
env_file="$(realpath "$1")"; shift
[ "${1:-}" != "--" ] || shift
[ -f "$env_file" ] || die "$env_file: no such env file"
for name in KUBECONFIG REGISTRY_HOST; do
  grep -q "^export $name=" "$env_file" || die "$env_file does not set $name"
done
cd "$repo"
cargo test -q -p respawn-e2e --test admission --no-run >&2
mapfile -t not_run < <(cargo test -q -p respawn-e2e --test admission -- --list 2>/dev/null |
  sed -n 's/: test$//p' | grep '^local_only::' || true)
report() {
  say "================================================================================"
  say "NOT RUN against an existing cluster: ${#not_run[@]} test(s) need the local stack"
  say "(an apiserver reaching this host's 127.0.0.1, the webhook process's port/CA/log, the"
  say "htpasswd registry); run them with make e2e:"
  local t; for t in "${not_run[@]}"; do say "  NOT RUN  $t"; done
  say "The runtime suite (e2e/tests/runtime/) and node_lifecycle need the local node; not run either."
  say "================================================================================"
}
report
rc=0
RESPAWN_E2E_STACK_ENV="$env_file" cargo test -p respawn-e2e --test admission -- \
  --skip local_only:: --test-threads="${RESPAWN_E2E_THREADS:-4}" "$@" || rc=$?
report
[ $rc -eq 0 ] && say "existing-cluster suite passed (${#not_run[@]} local-only test(s) NOT RUN, listed above)" ||
  say "existing-cluster suite FAILED (rc $rc)"
exit $rc
