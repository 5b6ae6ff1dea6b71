#!/usr/bin/env bash
# The local e2e stack: etcd, kube-apiserver, kube-controller-manager, the local registries with the
# test images, respawn-webhook and its MutatingWebhookConfiguration. Everything listens on 127.0.0.1
# on free ports; state, logs and pid files live in $RESPAWN_STACK_DIR (default <repo>/.stack).
# Usage:
#   stack.sh up       start whatever is not running (idempotent); prints the env file's path
#   stack.sh down     stop everything this stack started (safe to run any time, also after failures)
#   stack.sh env      print `export NAME=value` lines (eval "$(e2e/stack/stack.sh env)")
#   stack.sh status   which components run
#   stack.sh logs [NAME]  tail the logs
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
COMPONENTS=(etcd kube-apiserver kube-controller-manager respawn-webhook)

up() {
  "$here/build-kube.sh" kube-apiserver >/dev/null
  # The registries (and the test-image push) are independent of the control plane: in parallel.
  "$here/e2e-registry.sh" up &
  local registry=$!
  "$here/etcd.sh" up
  "$here/apiserver.sh" up
  "$here/controller-manager.sh" up
  wait "$registry" || die "the registries did not start"
  if [ -z "${RESPAWN_E2E_NO_WEBHOOK:-}" ]; then
    "$here/webhook.sh" up
    "$here/webhook-config.sh" apply
  fi
  env_set RESPAWN_STACK_DIR "$RESPAWN_STACK_DIR"
  echo "$STACK_ENV"
}

down() {
  [ -d "$RESPAWN_STACK_DIR" ] || return 0
  # Everything but etcd at once (a throw-away stack needs no ordered shutdown), then etcd.
  "$here/webhook.sh" down &
  "$here/e2e-registry.sh" down &
  "$here/controller-manager.sh" down &
  "$here/apiserver.sh" down &
  wait || true
  "$here/etcd.sh" down || true
  rm -f "$STACK_ENV" "$RESPAWN_STACK_DIR/ports"
}

case "${1:-}" in
  # One `up` at a time; -o: the daemons started under the lock must not inherit it.
  up) stack_dirs; exec flock -o "$RESPAWN_STACK_DIR/.lock" "$0" __up ;;
  __up) up ;;
  down) down ;;
  env) [ -f "$STACK_ENV" ] && cat "$STACK_ENV" || die "stack is not up (e2e/stack/stack.sh up)" ;;
  status)
    for d in open auth; do
      f="$RESPAWN_STACK_DIR/registry/$d/registry.pid"
      if [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null; then echo "registry-$d: running (pid $(cat "$f"))"; else echo "registry-$d: stopped"; fi
    done
    for c in "${COMPONENTS[@]}"; do
      if alive "$c"; then echo "$c: running (pid $(cat "$STACK_PIDS/$c.pid"))"; else echo "$c: stopped"; fi
    done
    ;;
  logs)
    shift
    if [ $# -gt 0 ]; then tail -n 100 "$STACK_LOGS/$1.log"; else for c in "${COMPONENTS[@]}"; do tail_log "$c"; done; fi
    ;;
  *) die "usage: stack.sh up|down|env|status|logs [NAME]" ;;
esac
