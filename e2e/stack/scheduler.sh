#!/usr/bin/env bash
# Starts/stops kube-scheduler, so that pods written without a nodeName (a user's pod, a
# Deployment's) land on the stack's node (node.sh) as in any cluster.
# Usage: scheduler.sh up|down
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bin="$RESPAWN_CACHE/kube/$KUBE_VERSION/kube-scheduler"

case "${1:-}" in
  up)
    if alive kube-scheduler; then exit 0; fi
    [ -x "$bin" ] || "$(dirname "$0")/build-kube.sh" kube-scheduler >/dev/null
    kubeconfig="$(env_get KUBECONFIG)"; [ -n "$kubeconfig" ] || die "kube-apiserver is not up"
    start_bg kube-scheduler "$bin" --kubeconfig "$kubeconfig" --authentication-kubeconfig "$kubeconfig" \
      --authorization-kubeconfig "$kubeconfig" --leader-elect=false --secure-port 0 -v 1
    sleep 0.5
    alive kube-scheduler || { tail_log kube-scheduler; die "kube-scheduler exited"; }
    log "kube-scheduler running"
    ;;
  down)
    stop_bg kube-scheduler
    ;;
  *) die "usage: scheduler.sh up|down" ;;
esac
