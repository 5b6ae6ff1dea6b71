#!/usr/bin/env bash
# Starts/stops etcd on 127.0.0.1 (free ports), data in $RESPAWN_STACK_DIR/etcd.
# Uses $ETCD_BIN, else Debian's etcd-server (/usr/bin/etcd).
# Usage: etcd.sh up|down
set -euo pipefail
source "$(dirname "$0")/lib.sh"

etcd_healthy() { curl -fsS "http://127.0.0.1:$(env_get ETCD_PORT)/health" | grep -q '"health":"true"'; }

case "${1:-}" in
  up)
    if alive etcd && etcd_healthy; then exit 0; fi
    stop_bg etcd
    bin="${ETCD_BIN:-$(command -v etcd || true)}"
    [ -x "$bin" ] || die "etcd not found: run e2e/stack/install-deps.sh (Debian package etcd-server)"
    port="$(free_port)"; env_set ETCD_PORT "$port"
    peer="$(free_port)"; env_set ETCD_PEER_PORT "$peer"
    # A fresh data dir each start: the stack is disposable, and an old member id would not match.
    rm -rf "$RESPAWN_STACK_DIR/etcd"
    start_bg etcd "$bin" --name respawn-e2e --data-dir "$RESPAWN_STACK_DIR/etcd" \
      --listen-client-urls "http://127.0.0.1:$port" --advertise-client-urls "http://127.0.0.1:$port" \
      --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
      --initial-cluster "respawn-e2e=http://127.0.0.1:$peer" --listen-metrics-urls "" \
      --quota-backend-bytes 2147483648 --log-level warn
    if ! wait_for etcd 30 etcd_healthy; then tail_log etcd; die "etcd did not become healthy"; fi
    log "etcd ready on 127.0.0.1:$port"
    ;;
  down)
    stop_bg etcd
    ;;
  *) die "usage: etcd.sh up|down" ;;
esac
