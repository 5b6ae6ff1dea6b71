#!/usr/bin/env bash
# Probe latency on the stack's real node (issue 15): what a liveness probe costs the kubelet when
# the webhook rewrites it to `respawn probe` (an exec through containerd + runc) next to the
# kubelet's native httpGet and tcpSocket against the same app, and a native exec probe (`cat`) as
# the floor of any exec probe. Numbers are the kubelet's own: prober_probe_duration_seconds from
# its /metrics/probes endpoint (mean = _sum/_count per pod; p50/p90 from the buckets).
# Every pod is hostNetwork (the kubelet's network probes cannot reach a pod of this node's
# loopback-only pod network) and serves busybox httpd on its own port.
# Knobs: BENCH_PROBES (probes per pod, default 60, one per second). Starts the stack if needed
# (e2e/stack/stack.sh up; RESPAWN_WEBHOOK_BIN picks the webhook binary) and leaves it running.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${BENCH_PROBES:-60}
e2e/stack/stack.sh up >/dev/null
eval "$(e2e/stack/stack.sh env)"
registry="127.0.0.1:$REGISTRY_PORT"
shell_image=$(REGISTRY=$registry e2e/stack/images.sh samples 2>/dev/null | grep "^$registry/respawn-sample-shell:")
ns=bench-probes-$$
kubectl create namespace "$ns" >/dev/null
kubectl label namespace "$ns" respawn.dev/inject=enabled >/dev/null
trap 'kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1 || true' EXIT

# Ports from the stack's own allocator (checked free, recorded): hostNetwork pods share the host.
source e2e/stack/lib.sh
# pod NAME KEEP(true|false) PROBE-JSON: the httpd app on its own port, liveness PROBE.
pod() {
  local name=$1 keep=$2 probe=$3 annotations='{}'
  port=$(free_port)
  [ "$keep" = true ] && annotations='{"respawn.dev/probes":"keep"}'
  probe=${probe//PORT/$port}
  kubectl -n "$ns" apply -f - >/dev/null <<EOF
{"apiVersion": "v1", "kind": "Pod",
 "metadata": {"name": "$name", "annotations": $annotations},
 "spec": {"hostNetwork": true, "terminationGracePeriodSeconds": 1,
  "containers": [{"name": "app", "image": "$shell_image",
   "command": ["/bin/sh", "-c", "/bin/busybox mkdir -p /tmp/www && echo ok > /tmp/www/healthz && exec /bin/busybox httpd -f -p 127.0.0.1:$port -h /tmp/www"],
   "ports": [{"name": "http", "containerPort": $port}],
   "livenessProbe": $probe}]}}
EOF
}
timing='"periodSeconds": 1, "failureThreshold": 5, "timeoutSeconds": 5'
pod native-http true "{\"httpGet\": {\"port\": \"http\", \"path\": \"/healthz\"}, $timing}"
pod respawn-http false "{\"httpGet\": {\"port\": \"http\", \"path\": \"/healthz\"}, $timing}"
pod native-tcp true "{\"tcpSocket\": {\"port\": \"http\"}, $timing}"
pod respawn-tcp false "{\"tcpSocket\": {\"port\": \"http\"}, $timing}"
pod native-exec true "{\"exec\": {\"command\": [\"cat\", \"/tmp/www/healthz\"]}, $timing}"
pods=(native-http respawn-http native-tcp respawn-tcp native-exec)
kubectl -n "$ns" wait --for=condition=Ready pod --all --timeout=120s >/dev/null

metrics() { curl -sk "https://127.0.0.1:$KUBELET_PORT/metrics/probes"; }
echo "bench-probes: $N liveness probes per pod, one per second (kubelet prober_probe_duration_seconds)"
deadline=$((SECONDS + 2 * N + 120))
while :; do
  if [ $SECONDS -gt $deadline ]; then
    # An anchor (or respawn's probe) that is not probed leaves no figure: fail, show the pods.
    echo "bench-probes: FAILED: not every pod had $N liveness probes in time" >&2
    kubectl -n "$ns" get pods -o wide >&2
    exit 1
  fi
  done_=$(metrics | awk -v ns="$ns" '/^prober_probe_duration_seconds_count/ && index($0, "namespace=\"" ns "\"") && /probe_type="Liveness"/ {n++; if ($NF < min || min == "") min = $NF} END {print (n == 5 ? min : 0)}')
  [ "${done_%.*}" -ge "$N" ] && break
  sleep 5
done
metrics | python3 bench/probes/summary.py "$ns" "${pods[@]}"
echo "supervisor: $(stat -c %s target/x86_64-unknown-linux-musl/supervisor/respawn) bytes (x86_64), $(stat -c %s target/aarch64-unknown-linux-musl/supervisor/respawn 2>/dev/null || echo '?') bytes (aarch64)"
