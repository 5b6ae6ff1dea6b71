#!/usr/bin/env bash
# The local stack: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, the local
# registries with the test images, respawn-webhook and its MutatingWebhookConfiguration, and a
# node (containerd + kubelet, node.sh) that runs the pods. Everything listens on 127.0.0.1 on free
# ports; state, logs and pid files live in $RESPAWN_STACK_DIR (default <repo>/.stack).
# Usage:
#   stack.sh up       start whatever is not running (idempotent); prints the env file's path
#   stack.sh down     stop everything this stack started (safe to run any time, also after failures)
#   stack.sh env      print `export NAME=value` lines (eval "$(e2e/stack/stack.sh env)"), ending
#                     with KUBECONFIG and a PATH with the stack's kubectl first
#   stack.sh status   which components run
#   stack.sh logs [NAME]  tail the logs
# RESPAWN_STACK_ADMISSION_ONLY=1: no kube-scheduler and no node — pods are admitted and stay
# Pending (the admission benchmarks, bench/stack.sh, measure admission alone).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler respawn-webhook containerd kubelet)
KUBE_TOOLS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl)

up() {
  "$here/build-kube.sh" "${KUBE_TOOLS[@]}" >/dev/null
  local node_too=1
  [ -z "${RESPAWN_STACK_ADMISSION_ONLY:-}" ] || node_too=
  [ -z "$node_too" ] || "$here/build-node.sh" >/dev/null
  # The registries (and the test-image push) are independent of the control plane: in parallel.
  "$here/e2e-registry.sh" up &
  local registry=$!
  "$here/etcd.sh" up
  "$here/apiserver.sh" up
  "$here/controller-manager.sh" up
  [ -z "$node_too" ] || "$here/scheduler.sh" up
  wait "$registry" || die "the registries did not start"
  # The node reads the registries' ports (plain-HTTP hosts); it starts while the webhook does.
  local node=
  if [ -n "$node_too" ]; then "$here/node.sh" up & node=$!; fi
  if [ -z "${RESPAWN_E2E_NO_WEBHOOK:-}" ]; then
    "$here/webhook.sh" up
    "$here/webhook-config.sh" apply
  fi
  [ -z "$node" ] || wait "$node" || die "the node did not start (e2e/stack/stack.sh logs kubelet, logs containerd)"
  mkdir -p "$RESPAWN_STACK_DIR/bin"
  ln -sfn "$RESPAWN_CACHE/kube/$KUBE_VERSION/kubectl" "$RESPAWN_STACK_DIR/bin/kubectl"
  env_set RESPAWN_STACK_DIR "$RESPAWN_STACK_DIR"
  echo "$STACK_ENV"
}

# The stack's variables, then the two lines a shell needs for kubectl.
print_env() {
  [ -f "$STACK_ENV" ] || die "stack is not up (e2e/stack/stack.sh up, or make up)"
  grep -v '^export KUBECONFIG=' "$STACK_ENV"
  echo "export KUBECONFIG='$(env_get KUBECONFIG)'"
  echo "export PATH=\"$RESPAWN_STACK_DIR/bin:\$PATH\""
}

down() {
  [ -d "$RESPAWN_STACK_DIR" ] || return 0
  # The node first, while the apiserver still answers; then everything but etcd at once (a
  # throw-away stack needs no ordered shutdown), then etcd.
  local rc=0
  "$here/node.sh" down || rc=$?
  "$here/webhook.sh" down &
  "$here/e2e-registry.sh" down &
  "$here/scheduler.sh" down &
  "$here/controller-manager.sh" down &
  "$here/apiserver.sh" down &
  wait || true
  "$here/etcd.sh" down || true
  rm -f "$STACK_ENV" "$RESPAWN_STACK_DIR/ports"
  [ $rc -eq 0 ] || log "error: the node was not cleaned up completely (see above)"
  return $rc
}

case "${1:-}" in
  # One `up` at a time; -o: the daemons started under the lock must not inherit it.
  up) stack_dirs; exec flock -o "$RESPAWN_STACK_DIR/.lock" "$0" __up ;;
  __up) up ;;
  down) down ;;
  env) print_env ;;
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
