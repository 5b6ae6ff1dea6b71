#!/usr/bin/env bash
# Starts/stops respawn-webhook on the host: 127.0.0.1 (free port), self-signed certificate whose CA
# it writes to $RESPAWN_STACK_DIR/pki/webhook-ca.crt, /healthz /readyz /metrics on a second plain-HTTP
# port (WEBHOOK_METRICS_PORT), the stack's kubeconfig (to read pull secrets),
# plain HTTP to the local registry, injecting the supervisor image the stack pushed
# (SUPERVISOR_IMAGE in stack.env; RESPAWN_SUPERVISOR_IMAGE overrides). Binary: $RESPAWN_WEBHOOK_BIN, else target/release/respawn-webhook.
# Usage: webhook.sh up|down
set -euo pipefail
source "$(dirname "$0")/lib.sh"
CA="$STACK_PKI/webhook-ca.crt"

webhook_ready() {
  # Ready on the plain-HTTP ops port, and any HTTP answer over TLS verified against the written CA.
  curl -fsS -o /dev/null "http://127.0.0.1:$(env_get WEBHOOK_METRICS_PORT)/readyz" &&
    [ -s "$CA" ] && curl -sS -o /dev/null --cacert "$CA" "https://127.0.0.1:$(env_get WEBHOOK_PORT)/mutate"
}

case "${1:-}" in
  up)
    if alive respawn-webhook && webhook_ready; then exit 0; fi
    stop_bg respawn-webhook
    bin="${RESPAWN_WEBHOOK_BIN:-$STACK_REPO/target/release/respawn-webhook}"
    [ -x "$bin" ] || die "$bin missing: run make webhook"
    kubeconfig="$(env_get KUBECONFIG)"; [ -n "$kubeconfig" ] || die "kube-apiserver is not up"
    port="$(free_port)"; env_set WEBHOOK_PORT "$port"
    mport="$(free_port)"; env_set WEBHOOK_METRICS_PORT "$mport"
    args=(--listen "127.0.0.1:$port" --metrics-listen "127.0.0.1:$mport" --write-ca "$CA" --lookup-budget "${RESPAWN_E2E_LOOKUP_BUDGET:-5s}" --shutdown-grace 1s)
    reg="$(env_get REGISTRY_PORT)"; [ -z "$reg" ] || args+=(--insecure-registry "127.0.0.1:$reg")
    reg="$(env_get AUTH_REGISTRY_PORT)"; [ -z "$reg" ] || args+=(--insecure-registry "127.0.0.1:$reg")
    # The supervisor image: RESPAWN_SUPERVISOR_IMAGE, else the one e2e-registry.sh pushed.
    supervisor="${RESPAWN_SUPERVISOR_IMAGE:-$(env_get SUPERVISOR_IMAGE)}"
    [ -n "$supervisor" ] || die "no supervisor image: set RESPAWN_SUPERVISOR_IMAGE or start e2e-registry.sh first"
    args+=(--supervisor-image "$supervisor")
    rm -f "$CA"
    NO_COLOR=1 KUBECONFIG="$kubeconfig" RESPAWN_WEBHOOK_LOG="${RESPAWN_WEBHOOK_LOG:-info,respawn_webhook=debug}" start_bg respawn-webhook "$bin" "${args[@]}"
    if ! wait_for respawn-webhook 30 webhook_ready; then tail_log respawn-webhook; die "respawn-webhook did not start"; fi
    env_set WEBHOOK_CA "$CA"
    log "respawn-webhook ready on https://127.0.0.1:$port"
    ;;
  down)
    stop_bg respawn-webhook
    ;;
  *) die "usage: webhook.sh up|down" ;;
esac
