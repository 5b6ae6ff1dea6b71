#!/usr/bin/env bash
# Pod create -> Ready on the stack's real node (kubelet 1.36 + containerd 2.2 + runc) for both ways
# of delivering the supervisor (issue 14): `init-container` (respawn-install copies the binary into
# an emptyDir) and `image-volume` (the supervisor image mounted read-only at /respawn, no init
# container). Both modes run in the same run, interleaved round by round (the order alternates),
# after one discarded warm-up pod each (images pulled, shims warm). Time is the client's: from
# before `kubectl create` to `kubectl wait --for=condition=Ready` returning; the same kubectl cost
# is in both modes. The ratio image-volume / init-container is the figure.
# Knobs: BENCH_DELIVERY_ROUNDS (default 12). Starts the stack if needed (e2e/stack/stack.sh up)
# and leaves it running.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${BENCH_DELIVERY_ROUNDS:-12}
e2e/stack/stack.sh up >/dev/null
eval "$(e2e/stack/stack.sh env)"
registry="127.0.0.1:$REGISTRY_PORT"
app_image=$(REGISTRY=$registry e2e/stack/images.sh samples 2>/dev/null | grep "^$registry/respawn-sample-app:")
ns=bench-delivery-$$
kubectl create namespace "$ns" >/dev/null
kubectl label namespace "$ns" respawn.dev/inject=enabled >/dev/null
trap 'kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1 || true' EXIT

# run NAME MODE: creates the pod, waits until Ready, prints the milliseconds, deletes it.
run() {
  local name=$1 mode=$2 t0 t1
  t0=$(date +%s%N)
  kubectl -n "$ns" create -f - >/dev/null <<EOF
{"apiVersion": "v1", "kind": "Pod",
 "metadata": {"name": "$name", "annotations": {"respawn.dev/delivery": "$mode"}},
 "spec": {"terminationGracePeriodSeconds": 1, "containers": [{"name": "app", "image": "$app_image"}]}}
EOF
  kubectl -n "$ns" wait --for=condition=Ready "pod/$name" --timeout=120s >/dev/null
  t1=$(date +%s%N)
  kubectl -n "$ns" get pod "$name" -o jsonpath='{.metadata.annotations.respawn\.dev/status}' | grep -qx injected ||
    { echo "bench-delivery: pod $name was not injected" >&2; exit 1; }
  inits=$(kubectl -n "$ns" get pod "$name" -o jsonpath='{.spec.initContainers[*].name}')
  case "$mode:$inits" in
    image-volume:) ;; init-container:respawn-install) ;;
    *) echo "bench-delivery: pod $name ($mode) has init containers [$inits]" >&2; exit 1 ;;
  esac
  kubectl -n "$ns" delete pod "$name" --wait=false >/dev/null
  echo $(( (t1 - t0) / 1000000 ))
}

echo "bench-delivery: pod create -> Ready on the local node, $rounds rounds per mode (interleaved), app $app_image"
run warm-init init-container >/dev/null
run warm-volume image-volume >/dev/null
init=() volume=()
# A failed pod fails the benchmark (an array append would swallow the failure of `$(run …)`).
for i in $(seq 1 "$rounds"); do
  if [ $((i % 2)) -eq 0 ]; then
    a=$(run "init-$i" init-container) || exit 1; b=$(run "volume-$i" image-volume) || exit 1
  else
    b=$(run "volume-$i" image-volume) || exit 1; a=$(run "init-$i" init-container) || exit 1
  fi
  init+=("$a") volume+=("$b")
done
python3 - "${init[*]}" "${volume[*]}" <<'EOF'
import statistics, sys
init = [int(x) for x in sys.argv[1].split()]
volume = [int(x) for x in sys.argv[2].split()]
def show(name, xs):
    q = statistics.quantiles(xs, n=4)
    print(f"  {name:15} median {statistics.median(xs):6.0f} ms  [IQR {q[0]:.0f}-{q[2]:.0f}, min-max {min(xs)}-{max(xs)}]")
show("init-container", init)
show("image-volume", volume)
ratios = [v / i for v, i in zip(volume, init)]
print(f"  image-volume / init-container, median of per-round ratios: {statistics.median(ratios):.2f}")
EOF
