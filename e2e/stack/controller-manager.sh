#!/usr/bin/env bash
# Starts/stops kube-controller-manager with only the controllers the e2e suite relies on:
# namespaces (deletion), service accounts (`default` in every namespace), the `kube-root-ca.crt`
# ConfigMap in every namespace (what projected service-account tokens mount, as in any cluster),
# node lifecycle (lifts the not-ready taint a kubelet registers its node with, once it is Ready),
# Deployments, ReplicaSets and garbage collection. Their pods run on the stack's node (node.sh).
# Usage: controller-manager.sh up|down
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bin="$RESPAWN_CACHE/kube/$KUBE_VERSION/kube-controller-manager"
CONTROLLERS=namespace-controller,serviceaccount-controller,root-ca-certificate-publisher-controller,node-lifecycle-controller,deployment-controller,replicaset-controller,garbage-collector-controller

case "${1:-}" in
  up)
    if alive kube-controller-manager; then exit 0; fi
    [ -x "$bin" ] || "$(dirname "$0")/build-kube.sh" kube-controller-manager >/dev/null
    kubeconfig="$(env_get KUBECONFIG)"; [ -n "$kubeconfig" ] || die "kube-apiserver is not up"
    start_bg kube-controller-manager "$bin" --kubeconfig "$kubeconfig" \
      --controllers "$CONTROLLERS" --leader-elect=false --secure-port 0 \
      --use-service-account-credentials=false --root-ca-file "$STACK_PKI/ca.crt" \
      --node-monitor-period 1s --concurrent-deployment-syncs 2 --concurrent-replicaset-syncs 2 --concurrent-namespace-syncs 4 -v 1
    sleep 0.5
    alive kube-controller-manager || { tail_log kube-controller-manager; die "kube-controller-manager exited"; }
    log "kube-controller-manager running"
    ;;
  down)
    stop_bg kube-controller-manager
    ;;
  *) die "usage: controller-manager.sh up|down" ;;
esac
