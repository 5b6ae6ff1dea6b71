#!/usr/bin/env bash
# respawn-webhook's memory, for the binary its image ships (static musl): RSS at idle, peak RSS under a sustained load of large pods (60
# containers, 4 MiB bodies, every container a new image: each lookup a miss against a real local
# registry), and RSS 30 s after the load stopped — next to the Helm chart's request and limit.
# Goals (issue "webhook memory"): idle <= 16 MiB; peak <= half the chart's limit; after the load,
# back toward idle. Bounded: LOAD_SECONDS (default 60) of load + 30 s.
# Tunables: LOAD_SECONDS, CLIENTS (8), CONTAINERS (60), BODY_MIB (4).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
source e2e/stack/lib.sh
LOAD_SECONDS="${LOAD_SECONDS:-60}" CLIENTS="${CLIENTS:-8}" CONTAINERS="${CONTAINERS:-60}" BODY_MIB="${BODY_MIB:-4}"
# The binary the image ships (e2e/stack/images.sh): static x86_64 musl, whose allocator is musl's.
CC_x86_64_unknown_linux_musl=musl-gcc cargo build --release -q -p respawn-webhook --target x86_64-unknown-linux-musl
bin="$repo/target/x86_64-unknown-linux-musl/release/respawn-webhook"
work="$(mktemp -d /tmp/respawn-bench-memory.XXXXXX)"
export RESPAWN_STACK_DIR="$work"
stack_dirs
cleanup() {
  [ -n "${wpid:-}" ] && kill "$wpid" 2>/dev/null; wait "${wpid:-}" 2>/dev/null || true
  e2e/stack/registry.sh stop "$work/registry" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
rss() { awk '/^VmRSS:/{print $2}' "/proc/$1/status"; }
anon() { awk '/^RssAnon:/{print $2}' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN{printf "%.1f MiB", k/1024}'; }

reg_port="$(free_port)"
e2e/stack/registry.sh start "$work/registry" "$reg_port" >/dev/null \
  || { echo "bench-memory: FAILED: the anchor registry (docker-registry) did not start" >&2; exit 1; }
port="$(free_port)" mport="$(free_port)"
KUBECONFIG=/nonexistent RESPAWN_WEBHOOK_LOG=warn "$bin" --listen "127.0.0.1:$port" --metrics-listen "127.0.0.1:$mport" \
  --write-ca "$work/ca.pem" --insecure-registry "127.0.0.1:$reg_port" --lookup-budget 5s >"$work/webhook.log" 2>&1 &
wpid=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$mport/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$mport/readyz" >/dev/null || { cat "$work/webhook.log"; echo "bench-memory: FAILED: webhook did not start" >&2; exit 1; }
sleep 5
idle=$(rss "$wpid") idle_anon=$(anon "$wpid")
echo "load: $LOAD_SECONDS s, $CLIENTS clients, pods of $CONTAINERS containers (each a new image), $BODY_MIB MiB bodies"
result="$(python3 bench/memory/load.py "https://127.0.0.1:$port/mutate" "$work/ca.pem" "$wpid" \
  "$LOAD_SECONDS" "$CLIENTS" "$CONTAINERS" "$BODY_MIB" "127.0.0.1:$reg_port")"
echo "load result: $result"
peak=$(echo "$result" | jq .peak_rss_kib)
sleep 30
after=$(rss "$wpid") after_anon=$(anon "$wpid")
cached=$(curl -fsS "http://127.0.0.1:$mport/metrics" | awk '/^respawn_image_cache_total/{n+=$2} END{print n+0}')
req=$(sed -n '/^resources:/,/^[a-z]/p' charts/respawn/values.yaml | awk '/requests:/{f=1} f&&/memory:/{print $2; exit}')
lim=$(sed -n '/^resources:/,/^[a-z]/p' charts/respawn/values.yaml | awk '/limits:/{f=1} f&&/memory:/{print $2; exit}')
to_kib() { case "$1" in *Mi) echo $(( ${1%Mi} * 1024 ));; *Gi) echo $(( ${1%Gi} * 1048576 ));; *) echo 0;; esac; }
lim_kib=$(to_kib "$lim")
printf '\n%-28s %s (anon %s)\n' "idle RSS" "$(mib "$idle")" "$(mib "$idle_anon")"
printf '%-28s %s\n' "peak RSS under load" "$(mib "$peak")"
printf '%-28s %s (anon %s)\n' "RSS 30 s after the load" "$(mib "$after")" "$(mib "$after_anon")"
printf '%-28s request %s, limit %s (half: %s)\n' "chart resources" "$req" "$lim" "$(mib $((lim_kib / 2)))"
printf '%-28s %s\n' "lookups counted by the cache" "$cached"
ok=1
[ "$idle" -le $((16 * 1024)) ] && echo "idle <= 16 MiB: PASS" || { echo "idle <= 16 MiB: MISS"; ok=0; }
[ "$peak" -le $((lim_kib / 2)) ] && echo "peak <= half the limit: PASS" || { echo "peak <= half the limit: MISS"; ok=0; }
[ "$after" -le $(( (idle + peak) / 2 )) ] && echo "after the load, back toward idle: PASS" || { echo "after the load, back toward idle: MISS"; ok=0; }
[ $ok = 1 ] || echo "bench-memory: a goal was missed (see above)"
