#!/usr/bin/env bash
# `make demo`: respawn end to end on one machine, no cluster and no Docker needed.
#   etcd + kube-apiserver (+ controller-manager) + a local registry + respawn-webhook, all on
#   127.0.0.1; a labelled namespace; a pod of a FROM-scratch sample app; the injected spec; the pod
#   run by podman (runc); restarts in place by `respawn restart`, Tilt's trigger file and a synced
#   file; a stop. Everything it starts lives in a temporary state directory and is removed at exit
#   (RESPAWN_DEMO_KEEP=1 keeps the stack running and prints how to reach it).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
stack="$repo/e2e/stack"
export RESPAWN_STACK_DIR="${RESPAWN_DEMO_DIR:-$(mktemp -d /tmp/respawn-demo.XXXXXX)}"
source "$stack/lib.sh"
TAG="$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -1)"
NS=demo
POD=sample
PLAYED=respawn-demo   # podman pod name (unique on this machine)
CTR="$PLAYED-app"
work="$RESPAWN_STACK_DIR/demo"
mkdir -p "$work"
t0=$SECONDS

if [ -t 1 ]; then B=$'\033[1m' N=$'\033[0m' JQ=(jq -C); else B='' N='' JQ=(jq); fi
bold() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
info() { printf '   %s\n' "$*"; }
quiet() { "$@" >>"$work/demo.log" 2>&1 || { echo "demo: '$*' failed; log:" >&2; tail -30 "$work/demo.log" >&2; exit 1; }; }

cleanup() {
  local rc=$?
  if [ -n "${RESPAWN_DEMO_KEEP:-}" ]; then
    echo; echo "Kept running (RESPAWN_DEMO_KEEP): export RESPAWN_STACK_DIR=$RESPAWN_STACK_DIR;" \
      "KUBECONFIG=$RESPAWN_STACK_DIR/kubeconfig; stop with: RESPAWN_STACK_DIR=$RESPAWN_STACK_DIR $stack/stack.sh down"
    exit $rc
  fi
  bold "Cleaning up"
  [ -f "$work/pod.yaml" ] && podman kube play --down "$work/pod.yaml" >/dev/null 2>&1 || true
  "$stack/webhook.sh" down >/dev/null 2>&1 || true
  "$stack/registry.sh" stop "$RESPAWN_STACK_DIR/registry" >/dev/null 2>&1 || true
  "$stack/stack.sh" down >/dev/null 2>&1 || true
  rm -rf "$RESPAWN_STACK_DIR"
  info "stopped everything the demo started"
  [ $rc -eq 0 ] && printf '\n%sDemo finished in %d s.%s\n' "$B" $((SECONDS - t0)) "$N" || echo "demo: FAILED (exit $rc)" >&2
  exit $rc
}
trap cleanup EXIT

api() {
  local method="$1" path="$2"; shift 2
  curl -fsS --cacert "$STACK_PKI/ca.crt" -H "Authorization: Bearer $(cut -d, -f1 "$STACK_PKI/tokens.csv")" \
    -H 'Content-Type: application/json' -X "$method" "https://127.0.0.1:$(env_get APISERVER_PORT)$path" "$@"
}
status() { podman exec "$CTR" /respawn/respawn status | sed -n 's/^\(ok \)\{0,1\}\(pid\|generation\|last exit\): */\2=/p' | paste -sd' '; }
starts() { podman logs "$CTR" 2>/dev/null | grep -c 'sample-app: started' || true; }
wait_starts() { # N: waits until the app has started N times
  local i; for i in $(seq 1 150); do [ "$(starts)" -ge "$1" ] && return 0; sleep 0.2; done
  echo "demo: the app did not start a ${1}th time; logs:" >&2; podman logs "$CTR" >&2; exit 1
}
last_start() { podman logs "$CTR" 2>/dev/null | grep 'sample-app: started' | tail -1; }

bold "1. Local control plane: etcd, kube-apiserver $KUBE_VERSION, kube-controller-manager"
stack_dirs
for part in etcd apiserver controller-manager; do quiet "$stack/$part.sh" up; done
info "kube-apiserver on https://127.0.0.1:$(env_get APISERVER_PORT) (state in $RESPAWN_STACK_DIR)"

bold "2. A local OCI registry, and the images built without Docker (buildah)"
port="$(free_port)"
quiet "$stack/registry.sh" start "$RESPAWN_STACK_DIR/registry" "$port"
env_set REGISTRY_PORT "$port"
REG="127.0.0.1:$port"
REGISTRY="$REG" "$stack/images.sh" supervisor samples 2>>"$work/demo.log" | grep "^$REG" | sed 's/^/   pushed /'

bold "3. respawn-webhook on the host, and its MutatingWebhookConfiguration"
RESPAWN_SUPERVISOR_IMAGE="$REG/respawn-supervisor:$TAG" quiet "$stack/webhook.sh" up
quiet "$stack/webhook-config.sh" apply
info "webhook on https://127.0.0.1:$(env_get WEBHOOK_PORT)/mutate, injecting $REG/respawn-supervisor:$TAG"

bold "4. A namespace opted in with the label respawn.dev/inject=enabled"
api POST /api/v1/namespaces -o /dev/null \
  -d "{\"metadata\":{\"name\":\"$NS\",\"labels\":{\"respawn.dev/inject\":\"enabled\"}}}"
api POST "/api/v1/namespaces/$NS/serviceaccounts" -o /dev/null -d '{"metadata":{"name":"default"}}' 2>/dev/null || true
info "namespace/$NS created"

bold "5. The pod you write: a FROM-scratch app (no shell), no command or args"
jq -n --arg image "$REG/respawn-sample-app:$TAG" --arg pod "$POD" '{
  apiVersion: "v1", kind: "Pod",
  metadata: {name: $pod, annotations: {"respawn.dev/watch": "/app"}},
  spec: {restartPolicy: "Never", automountServiceAccountToken: false,
         containers: [{name: "app", image: $image}]}}' >"$work/pod.json"
"${JQ[@]}" . "$work/pod.json" | sed 's/^/   /'

bold "6. What the apiserver stored after respawn-webhook mutated it"
api POST "/api/v1/namespaces/$NS/pods" -d @"$work/pod.json" >"$work/stored.json"
show() { jq -S '{annotations: (.metadata.annotations // {}), initContainers: [.spec.initContainers[]? | {name, image, command, securityContext}], containers: [.spec.containers[] | {name, command, args, env, volumeMounts}], volumes: [.spec.volumes[]? | select(.name | startswith("kube-api-access") | not)]}' "$1"; }
diff -u --label "you wrote" --label "stored" <(show "$work/pod.json") <(show "$work/stored.json") | sed 's/^/   /' || true
info "the argv came from the image config in the registry (ENTRYPOINT + CMD, each \$ doubled so"
info "the kubelet's \$(VAR) expansion leaves it as it was)"

bold "7. Run it with podman kube play (runc); images pulled from the local registry"
"$stack/pod-to-podman.py" --name "$PLAYED" <"$work/stored.json" >"$work/pod.yaml"
quiet podman kube play --tls-verify=false "$work/pod.yaml"
wait_starts 1
info "init container respawn-install copied the supervisor; the app runs under it:"
info "$(last_start)"
info "respawn status: $(status)"

bold "8. Restart in place: podman exec $CTR /respawn/respawn restart"
cid="$(podman inspect --format '{{.Id}}' "$CTR" | cut -c1-12)"
info "respawn restart returned once the new generation ran: new pid $(podman exec "$CTR" /respawn/respawn restart)"
wait_starts 2
info "$(last_start)"
info "respawn status: $(status)   (container $cid, never restarted)"

bold "9. Tilt's trigger file: podman cp <empty file> $CTR:/tmp/.restart-proc"
: >"$work/restart-proc"
podman cp "$work/restart-proc" "$CTR:/tmp/.restart-proc"
wait_starts 3
info "$(last_start)"
info "respawn status: $(status)"

bold "10. A synced file in a watched path (respawn.dev/watch=/app): podman cp message $CTR:/app/message"
echo "hello from a live update" >"$work/message"
podman cp "$work/message" "$CTR:/app/message"
wait_starts 4
info "$(last_start)"
info "respawn status: $(status)"

bold "11. podman stop: SIGTERM goes to the app through the supervisor"
podman stop --time 10 "$CTR" >/dev/null
info "container exit code: $(podman inspect --format '{{.State.ExitCode}}' "$CTR") (128+15: the app died of SIGTERM, as without respawn)"
info "same container id as at the start: $(podman inspect --format '{{.Id}}' "$CTR" | cut -c1-12) = $cid"

bold "What happened"
podman logs "$CTR" 2>&1 | grep -E 'sample-app: started|respawn:' | sed 's/^/   /'
