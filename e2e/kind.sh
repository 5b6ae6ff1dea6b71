#!/usr/bin/env bash
# `make kind-e2e`: the admission e2e suite against a real cluster, for machines with a Docker engine.
#   1. images built with buildah (e2e/stack/images.sh): respawn-supervisor, respawn-webhook and
#      respawn-e2e-registry (Debian's docker-registry + the libraries it links: no image from an
#      outside registry); the registry image is moved into Docker with `podman save | docker load`;
#   2. a registry container `respawn-kind-registry` on the kind network (nodes and the webhook reach
#      it as respawn-kind-registry:5000 over plain HTTP; this host pushes through a free
#      127.0.0.1 port), a kind cluster `respawn-e2e` whose containerd pulls from it;
#   3. respawn-supervisor and respawn-webhook pushed to it, and the test images (test-images.sh);
#   4. `helm install` of charts/respawn (tls.mode=helm: no cert-manager needed) with values pointing
#      at those images (the supervisor by digest), waiting for the rollout;
#   5. the SAME Rust suite (e2e/tests/admission) through e2e/stack/cluster-suite.sh, pointed at the
#      cluster by an env file (RESPAWN_E2E_STACK_ENV): no local stack is started; the tests that
#      need the local stack are listed as NOT RUN. Every test labels its own namespace.
# Prerequisites are checked first; every missing one is named and it exits 2 without testing
# anything. Environment: KIND_CLUSTER (respawn-e2e), KIND_KEEP=1 keeps cluster and registry,
# KIND_VERSION for `go install` when kind is not on PATH.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
stack="$repo/e2e/stack"
CLUSTER="${KIND_CLUSTER:-respawn-e2e}"
REG_NAME=respawn-kind-registry
REG_IN="$REG_NAME:5000"
KIND_VERSION="${KIND_VERSION:-v0.31.0}"
TOOLS="${RESPAWN_CACHE:-$HOME/.cache/respawn}/tools/bin"
TAG="$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -1)"
work="$(mktemp -d "${TMPDIR:-/tmp}/respawn-kind.XXXXXX")"
say() { echo "kind-e2e: $*" >&2; }
die() { echo "kind-e2e: error: $*" >&2; exit 2; }
export PATH="$TOOLS:$PATH"

# --- prerequisites: name every missing one, test nothing -----------------------------------------
missing=()
if ! command -v docker >/dev/null 2>&1; then
  missing+=("docker: no docker CLI (kind runs Kubernetes nodes as Docker containers; install a Docker engine)")
elif ! docker info >/dev/null 2>&1; then
  missing+=("a Docker engine: the docker CLI is installed but \`docker info\` fails (is dockerd running, may this user use it?)")
fi
command -v kind >/dev/null 2>&1 || command -v go >/dev/null 2>&1 ||
  missing+=("kind: not on PATH, and no Go toolchain to build it (go install sigs.k8s.io/kind@$KIND_VERSION)")
command -v go >/dev/null 2>&1 || [ -x "$TOOLS/helm" ] ||
  missing+=("helm: not in $TOOLS and no Go toolchain to build it (e2e/stack/build-helm.sh)")
for tool in buildah podman skopeo docker-registry cargo jq curl; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool: not installed (make deps)")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "cannot run here; missing prerequisites:"
  for m in "${missing[@]}"; do say "  - $m"; done
  die "${#missing[@]} prerequisite(s) missing. NOTHING WAS TESTED. Without Docker use the local path: make e2e"
fi
if ! command -v kind >/dev/null 2>&1; then
  say "kind not found: building $KIND_VERSION from the Go module proxy into $TOOLS"
  GOBIN="$TOOLS" go install "sigs.k8s.io/kind@$KIND_VERSION" || die "could not build kind"
fi
HELM="$("$stack/build-helm.sh")"

cleanup() {
  local rc=$?
  rm -rf "$work"
  if [ -n "${KIND_KEEP:-}" ]; then
    say "kept cluster $CLUSTER and registry $REG_NAME (KUBECONFIG=${KCFG:-?})"
  else
    kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
    docker rm -f "$REG_NAME" >/dev/null 2>&1 || true
  fi
  say "finished (rc $rc)"
}
trap cleanup EXIT

# --- 1. images (buildah), the registry image into Docker -----------------------------------------
say "building images with buildah"
"$stack/images.sh" registry >/dev/null
podman save --format docker-archive -o "$work/registry.tar" "localhost/respawn-e2e-registry:$TAG" >/dev/null
docker load -i "$work/registry.tar" >/dev/null

# --- 2. registry container, kind cluster pulling from it ------------------------------------------
docker rm -f "$REG_NAME" >/dev/null 2>&1 || true
docker run -d --restart=always -p 127.0.0.1::5000 --name "$REG_NAME" "localhost/respawn-e2e-registry:$TAG" >/dev/null
REG_HOST="$(docker port "$REG_NAME" 5000/tcp | grep -m1 '^127.0.0.1:')" || die "registry container has no host port"
for _ in $(seq 1 50); do curl -fsS -o /dev/null "http://$REG_HOST/v2/" && break; sleep 0.2; done
curl -fsS -o /dev/null "http://$REG_HOST/v2/" || { docker logs "$REG_NAME" >&2; die "registry on $REG_HOST does not answer"; }
if ! kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  cat >"$work/kind.yaml" <<EOF
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
  kind create cluster --name "$CLUSTER" --config "$work/kind.yaml" --wait 180s
fi
docker network connect kind "$REG_NAME" >/dev/null 2>&1 || true
for node in $(kind get nodes --name "$CLUSTER"); do
  docker exec "$node" mkdir -p "/etc/containerd/certs.d/$REG_IN"
  printf '[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n' "$REG_IN" |
    docker exec -i "$node" tee "/etc/containerd/certs.d/$REG_IN/hosts.toml" >/dev/null
done
KCFG="$work/kubeconfig"
kind get kubeconfig --name "$CLUSTER" >"$KCFG"

# --- 3. our images and the test images, pushed through the host port ------------------------------
REGISTRY="$REG_HOST" "$stack/images.sh" supervisor webhook >/dev/null
"$stack/test-images.sh" "$REG_HOST" >/dev/null
SUP_DIGEST="$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REG_HOST/respawn-supervisor:$TAG")"

# --- 4. the chart, as users install it ------------------------------------------------------------
KUBECONFIG="$KCFG" "$HELM" upgrade --install respawn "$repo/charts/respawn" \
  --namespace respawn-system --create-namespace --wait --timeout 5m \
  --set imageRegistry="$REG_IN" \
  --set image.repository=respawn-webhook --set image.tag="$TAG" \
  --set supervisor.image.repository=respawn-supervisor --set supervisor.image.digest="$SUP_DIGEST" \
  --set "webhook.insecureRegistries={$REG_IN}" --set tls.mode=helm

# --- 5. the same suite, against the cluster -------------------------------------------------------
cat >"$work/cluster.env" <<EOF
export KUBECONFIG='$KCFG'
export REGISTRY_HOST='$REG_IN'
export WEBHOOK_NAMESPACE='respawn-system'
export RESPAWN_CLUSTER='kind-$CLUSTER'
EOF
say "running the admission e2e suite against kind cluster $CLUSTER"
"$stack/cluster-suite.sh" "$work/cluster.env"
