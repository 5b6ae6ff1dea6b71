#!/usr/bin/env bash
# `make kind-e2e`: the e2e suite against a real cluster, for machines with a Docker engine.
#   1. a kind cluster `respawn-e2e` and a plain-HTTP registry container `respawn-kind-registry` on
#      the kind network (nodes pull from it, the webhook looks images up in it);
#   2. respawn-supervisor, respawn-webhook and the sample images built with buildah
#      (e2e/stack/images.sh) and pushed to that registry;
#   3. `helm install` of charts/respawn (TLS mode helm: no cert-manager needed), waiting for rollout;
#   4. the same Rust e2e suite (`cargo test -p respawn-e2e`), pointed at the cluster through a
#      stack.env file (RESPAWN_E2E_STACK_ENV) instead of the local stack.
# Without Docker (or kind) it says so and exits 2: it never pretends to have run.
# Environment: KIND_CLUSTER (respawn-e2e), KIND_KEEP=1 keeps the cluster, KIND_VERSION for `go install`.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
stack="$repo/e2e/stack"
CLUSTER="${KIND_CLUSTER:-respawn-e2e}"
REG_NAME=respawn-kind-registry
REG_PORT=5000
KIND_VERSION="${KIND_VERSION:-v0.31.0}"
TOOLS="${RESPAWN_CACHE:-$HOME/.cache/respawn}/tools/bin"
say() { echo "kind-e2e: $*" >&2; }
die() { echo "kind-e2e: error: $*" >&2; exit 2; }

if ! command -v docker >/dev/null 2>&1; then
  die "Docker is not installed on this machine, so no kind cluster can run here. Nothing was tested.
  make kind-e2e needs a Docker engine (kind runs Kubernetes nodes as Docker containers).
  Without Docker, use the local path instead: make e2e (etcd + kube-apiserver + podman/runc)."
fi
if ! docker info >/dev/null 2>&1; then
  die "the docker CLI is installed but no Docker engine answers (docker info failed). Nothing was tested."
fi
# The suite must be able to target an existing cluster, or it would silently test the local stack.
grep -q RESPAWN_E2E_STACK_ENV "$repo/e2e/src/stack.rs" ||
  die "the e2e harness (e2e/src/stack.rs) does not support RESPAWN_E2E_STACK_ENV yet, so the suite
  cannot be pointed at a kind cluster. Nothing was tested."
export PATH="$TOOLS:$PATH"
if ! command -v kind >/dev/null 2>&1; then
  say "kind not found: building $KIND_VERSION from the Go module proxy into $TOOLS"
  GOBIN="$TOOLS" go install "sigs.k8s.io/kind@$KIND_VERSION" || die "could not build kind"
fi
HELM="$("$stack/build-helm.sh")"

# 1. Registry container + cluster whose containerd reaches it over plain HTTP.
if [ -z "$(docker ps -q -f "name=^$REG_NAME$")" ]; then
  docker rm -f "$REG_NAME" >/dev/null 2>&1 || true
  docker run -d --restart=always -p "127.0.0.1:5001:$REG_PORT" --name "$REG_NAME" registry:2 >/dev/null
fi
if ! kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  cat >"${TMPDIR:-/tmp}/kind-$CLUSTER.yaml" <<EOF
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
containerdConfigPatches:
- |-
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "/etc/containerd/certs.d"
nodes:
- role: control-plane
- role: worker
EOF
  kind create cluster --name "$CLUSTER" --config "${TMPDIR:-/tmp}/kind-$CLUSTER.yaml" --wait 180s
fi
docker network connect kind "$REG_NAME" >/dev/null 2>&1 || true
for node in $(kind get nodes --name "$CLUSTER"); do
  docker exec "$node" mkdir -p "/etc/containerd/certs.d/$REG_NAME:$REG_PORT"
  printf '[host."http://%s:%s"]\n  capabilities = ["pull", "resolve"]\n' "$REG_NAME" "$REG_PORT" |
    docker exec -i "$node" tee "/etc/containerd/certs.d/$REG_NAME:$REG_PORT/hosts.toml" >/dev/null
done
KCFG="${TMPDIR:-/tmp}/kind-$CLUSTER.kubeconfig"
kind get kubeconfig --name "$CLUSTER" >"$KCFG"
cleanup() {
  [ -n "${KIND_KEEP:-}" ] && { say "kept cluster $CLUSTER (KUBECONFIG=$KCFG)"; return; }
  kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
  docker rm -f "$REG_NAME" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# 2. Images: built with buildah, pushed through the host port, referenced by the in-network name.
REGISTRY=127.0.0.1:5001 "$stack/images.sh" supervisor webhook samples >/dev/null
TAG="$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -1)"

# 3. The chart, as users install it.
KUBECONFIG="$KCFG" "$HELM" upgrade --install respawn "$repo/charts/respawn" \
  --namespace respawn-system --create-namespace --wait --timeout 5m \
  --set imageRegistry="$REG_NAME:$REG_PORT" \
  --set image.repository=respawn-webhook --set supervisor.image.repository=respawn-supervisor \
  --set image.tag="$TAG" --set supervisor.image.tag="$TAG" \
  --set "webhook.insecureRegistries={$REG_NAME:$REG_PORT}" --set tls.mode=helm

# 4. The suite, against the cluster.
env_file="${TMPDIR:-/tmp}/kind-$CLUSTER.stack.env"
cat >"$env_file" <<EOF
export KUBECONFIG='$KCFG'
export RESPAWN_CLUSTER='kind'
export REGISTRY_HOST='$REG_NAME:$REG_PORT'
export REGISTRY_PUSH='127.0.0.1:5001'
EOF
say "running the e2e suite against kind cluster $CLUSTER"
cd "$repo"
RESPAWN_E2E_STACK_ENV="$env_file" cargo test -p respawn-e2e -- --test-threads=1
