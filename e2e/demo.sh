#!/usr/bin/env bash
# `make demo`: respawn end to end on one machine, no cluster and no Docker needed.
#   The local stack (e2e/stack/stack.sh: etcd, kube-apiserver, controller-manager, scheduler,
#   registries, respawn-webhook and a node — kubelet + containerd + runc — all on 127.0.0.1);
#   a labelled namespace; a pod of a FROM-scratch sample app applied with kubectl; the injected
#   spec; the pod running on the node; `kubectl exec … respawn restart` and `status`; logs; a
#   `kubectl delete`. Every command a user would type is shown as `$ kubectl …` and run with the
#   stack's kubectl. Everything lives in a temporary state directory and is removed at exit
#   (RESPAWN_DEMO_KEEP=1 keeps the stack running and prints how to reach it).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
stack="$repo/e2e/stack"
export RESPAWN_STACK_DIR="${RESPAWN_DEMO_DIR:-$(mktemp -d /tmp/respawn-demo.XXXXXX)}"
source "$stack/lib.sh"
TAG="$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -1)"
NS=demo
POD=sample
work="$RESPAWN_STACK_DIR/demo"
mkdir -p "$work"
t0=$SECONDS

if [ -t 1 ]; then B=$'\033[1m' D=$'\033[2m' N=$'\033[0m' JQ=(jq -C); else B='' D='' N='' JQ=(jq); fi
bold() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
info() { printf '   %s\n' "$*"; }
# k ARGS...: shows `$ kubectl ARGS` and runs it with the stack's kubectl, output indented.
k() {
  printf '   %s$ kubectl %s%s\n' "$D" "$*" "$N"
  kubectl "$@" 2>&1 | sed 's/^/     /'
  return "${PIPESTATUS[0]}"
}
ms() { echo $(($(date +%s%N) / 1000000)); }
kubectl() { "$RESPAWN_CACHE/kube/$KUBE_VERSION/kubectl" --kubeconfig "$RESPAWN_STACK_DIR/kubeconfig" "$@"; }
quiet() { "$@" >>"$work/demo.log" 2>&1 || { echo "demo: '$*' failed; log:" >&2; tail -30 "$work/demo.log" >&2; exit 1; }; }

cleanup() {
  local rc=$?
  if [ -n "${RESPAWN_DEMO_KEEP:-}" ]; then
    echo; echo "Kept running (RESPAWN_DEMO_KEEP). In your shell:"
    "$stack/stack.sh" env | tail -2
    echo "Stop it with: RESPAWN_STACK_DIR=$RESPAWN_STACK_DIR $stack/stack.sh down"
    exit $rc
  fi
  bold "Cleaning up"
  if "$stack/stack.sh" down >>"$work/demo.log" 2>&1; then
    rm -rf "$RESPAWN_STACK_DIR"
    info "stopped everything the demo started (node: no mounts, cgroups or processes left)"
  else
    echo "demo: stack.sh down reported leftovers; see $work/demo.log" >&2; rc=1
  fi
  [ $rc -eq 0 ] && printf '\n%sDemo finished in %d s.%s\n' "$B" $((SECONDS - t0)) "$N" || echo "demo: FAILED (exit $rc)" >&2
  exit $rc
}
trap cleanup EXIT

starts() { kubectl -n "$NS" logs "$POD" -c app 2>/dev/null | grep -c 'sample-app: started' || true; }
wait_starts() { # N: waits until the app has started N times
  local i; for i in $(seq 1 150); do [ "$(starts)" -ge "$1" ] && return 0; sleep 0.2; done
  echo "demo: the app did not start a ${1}th time; logs:" >&2; kubectl -n "$NS" logs "$POD" -c app >&2; exit 1
}

bold "1. The local stack: control plane, registries, respawn-webhook and a node"
s=$SECONDS
quiet "$stack/stack.sh" up
info "etcd, kube-apiserver $KUBE_VERSION, kube-controller-manager, kube-scheduler on 127.0.0.1"
info "node $(env_get NODE_NAME): kubelet $KUBE_VERSION + containerd + runc, state in $RESPAWN_STACK_DIR/node"
info "respawn-webhook on https://127.0.0.1:$(env_get WEBHOOK_PORT)/mutate (up in $((SECONDS - s)) s)"
k get nodes

bold "2. The sample app, built without Docker (buildah) and pushed to the local registry"
REG="127.0.0.1:$(env_get REGISTRY_PORT)"
REGISTRY="$REG" "$stack/images.sh" samples 2>>"$work/demo.log" | grep "^$REG/respawn-sample-app" | sed 's/^/   pushed /'

bold "3. A namespace opted in with the label respawn.dev/inject=enabled"
k create namespace "$NS"
k label namespace "$NS" respawn.dev/inject=enabled

bold "4. The pod you write: a FROM-scratch app (no shell), no command or args"
cat >"$work/pod.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $POD
  namespace: $NS
spec:
  containers:
  - name: app
    image: $REG/respawn-sample-app:$TAG
EOF
sed 's/^/     /' "$work/pod.yaml"
k apply -f "$work/pod.yaml"

bold "5. What the apiserver stored after respawn-webhook mutated it"
kubectl -n "$NS" get pod "$POD" -o json >"$work/stored.json"
show() { jq -S '{initContainers: [.spec.initContainers[]? | {name, image, command}], containers: [.spec.containers[] | {name, command, args}], annotations: (.metadata.annotations // {} | del(."kubectl.kubernetes.io/last-applied-configuration"))}' "$1"; }
kubectl create --dry-run=client -o json -f "$work/pod.yaml" >"$work/written.json"
diff -u --label "you wrote" --label "stored" <(show "$work/written.json") <(show "$work/stored.json") | sed 's/^/   /' || true
info "the argv came from the image config in the registry (ENTRYPOINT + CMD, each \$ doubled so"
info "the kubelet's \$(VAR) expansion leaves it as it was)"

bold "6. The kubelet runs it: the init container copies the supervisor, the app runs under it"
s=$(ms)
k -n "$NS" wait --for=condition=Ready "pod/$POD" --timeout=120s
info "Ready $(($(ms) - s)) ms after the apply returned"
wait_starts 1
k -n "$NS" logs "$POD"
k -n "$NS" exec "$POD" -- /respawn/respawn status

bold "7. Restart in place"
k -n "$NS" exec "$POD" -- /respawn/respawn restart
wait_starts 2
k -n "$NS" logs "$POD" --tail 3
k -n "$NS" exec "$POD" -- /respawn/respawn status
k -n "$NS" get pod "$POD" -o 'custom-columns=POD:.metadata.name,CONTAINER RESTARTS:.status.containerStatuses[0].restartCount,CONTAINER ID:.status.containerStatuses[0].containerID'
info "a new process (generation 2) in the same container: Kubernetes saw no restart"

bold "8. kubectl delete: the kubelet's SIGTERM reaches the app through the supervisor"
s=$(ms)
k -n "$NS" delete pod "$POD"
info "gone in $(($(ms) - s)) ms. sample-app has no SIGTERM handler: as PID 1 without respawn it"
info "ignores SIGTERM, and the kubelet waits out the 30 s grace period before SIGKILL"

bold "Try it yourself"
info "RESPAWN_DEMO_KEEP=1 make demo   (or: make up) leaves the stack running; then, in your shell:"
info "  kubectl -n $NS apply -f $work/pod.yaml"
info "  kubectl -n $NS exec $POD -- /respawn/respawn restart"
info "  kubectl -n $NS logs -f $POD"
