#!/usr/bin/env bash
# Starts/stops kube-apiserver on 127.0.0.1 (free port) against the stack's etcd, and writes
# $RESPAWN_STACK_DIR/kubeconfig (admin token, CA pinned).
# Usage: apiserver.sh up|down
set -euo pipefail
source "$(dirname "$0")/lib.sh"
KUBE_BIN_DIR="$RESPAWN_CACHE/kube/$KUBE_VERSION"
KUBECONFIG_FILE="$RESPAWN_STACK_DIR/kubeconfig"

api_ready() {
  curl -fsS --cacert "$STACK_PKI/ca.crt" -H "Authorization: Bearer $(cut -d, -f1 "$STACK_PKI/tokens.csv")" \
    "https://127.0.0.1:$(env_get APISERVER_PORT)/readyz" | grep -qx ok
}

write_kubeconfig() {
  local port="$1" token ca
  token="$(cut -d, -f1 "$STACK_PKI/tokens.csv")"
  ca="$(base64 -w0 "$STACK_PKI/ca.crt")"
  cat >"$KUBECONFIG_FILE.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: respawn-e2e
  cluster:
    server: https://127.0.0.1:$port
    certificate-authority-data: $ca
users:
- name: respawn-admin
  user:
    token: $token
contexts:
- name: respawn-e2e
  context: {cluster: respawn-e2e, user: respawn-admin}
current-context: respawn-e2e
EOF
  chmod 600 "$KUBECONFIG_FILE.tmp"
  mv "$KUBECONFIG_FILE.tmp" "$KUBECONFIG_FILE"
}

case "${1:-}" in
  up)
    if alive kube-apiserver && api_ready; then exit 0; fi
    stop_bg kube-apiserver
    bin="$KUBE_BIN_DIR/kube-apiserver"
    [ -x "$bin" ] || die "$bin missing: run e2e/stack/build-kube.sh kube-apiserver (or make deps)"
    "$(dirname "$0")/certs.sh" >/dev/null
    etcd_port="$(env_get ETCD_PORT)"; [ -n "$etcd_port" ] || die "etcd is not up (etcd.sh up)"
    port="$(free_port)"; env_set APISERVER_PORT "$port"
    write_kubeconfig "$port"
    # ServiceAccount admission stays on (as in every real cluster); the harness creates the
    # `default` ServiceAccount in each namespace, or kube-controller-manager does when it runs.
    start_bg kube-apiserver "$bin" \
      --etcd-servers "http://127.0.0.1:$etcd_port" \
      --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$port" \
      --tls-cert-file "$STACK_PKI/apiserver.crt" --tls-private-key-file "$STACK_PKI/apiserver.key" \
      --client-ca-file "$STACK_PKI/ca.crt" --token-auth-file "$STACK_PKI/tokens.csv" \
      --authorization-mode RBAC \
      --service-account-issuer https://kubernetes.default.svc.cluster.local \
      --service-account-key-file "$STACK_PKI/sa.pub" \
      --service-account-signing-key-file "$STACK_PKI/sa.key" \
      --service-cluster-ip-range 10.96.0.0/16 \
      --enable-admission-plugins NamespaceLifecycle,ServiceAccount,PodSecurity,MutatingAdmissionWebhook,ValidatingAdmissionWebhook \
      --enable-priority-and-fairness=false --profiling="${RESPAWN_APISERVER_PROFILING:-false}" \
      --cert-dir "$RESPAWN_STACK_DIR/apiserver-certs" -v 1
    if ! wait_for kube-apiserver 90 api_ready; then tail_log kube-apiserver; die "kube-apiserver did not become ready"; fi
    env_set KUBECONFIG "$KUBECONFIG_FILE"
    log "kube-apiserver ready on https://127.0.0.1:$port"
    ;;
  down)
    stop_bg kube-apiserver
    ;;
  *) die "usage: apiserver.sh up|down" ;;
esac
