#!/usr/bin/env bash
# PID 1 benchmarks (issue 2): respawn against tini-static, catatonit and dumb-init (Debian),
# all measured in this run:
#  (a) binary size;  (b) idle RSS supervising `sleep` as PID 1;  (c) idle wake-ups per second
#  (context switches of the idle supervisor over BENCH_IDLE_SECS);  (d) startup overhead of
#  `X -- /bin/true` over BENCH_RUNS runs (hyperfine, no shell), as a ratio to tini.
# Knobs: BENCH_RUNS (default 1000), BENCH_IDLE_SECS (default 5), RESPAWN_BIN (default: the static
# `make supervisor` build).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${BENCH_RUNS:-1000}
IDLE=${BENCH_IDLE_SECS:-5}
RESPAWN=${RESPAWN_BIN:-$PWD/target/x86_64-unknown-linux-musl/supervisor/respawn}
[ -x "$RESPAWN" ] || make -s supervisor >/dev/null
for t in /usr/bin/tini-static /usr/bin/catatonit /usr/bin/dumb-init /usr/bin/hyperfine; do
  [ -x "$t" ] || { echo "bench-supervisor: $t missing (run make deps)" >&2; exit 1; }
done
TRUE=$(type -P true)
SLEEP=$(type -P sleep)

# name | command prefix (the supervised command follows)
NAMES=(respawn tini catatonit dumb-init)
declare -A PREFIX=(
  [respawn]="$RESPAWN --"
  [tini]="/usr/bin/tini-static -s --"
  [catatonit]="/usr/bin/catatonit --"
  [dumb-init]="/usr/bin/dumb-init"
)
declare -A BIN=([respawn]=$RESPAWN [tini]=/usr/bin/tini-static [catatonit]=/usr/bin/catatonit [dumb-init]=/usr/bin/dumb-init)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2fx", a / b }'; }

echo "## static binary size (bytes; goal <= 700 KiB = 716800)"
for n in "${NAMES[@]}"; do
  s=$(stat -c %s "${BIN[$n]}")
  printf "  %-10s %8d  %s vs tini  (%s)\n" "$n" "$s" "$(ratio "$s" "$(stat -c %s /usr/bin/tini-static)")" \
    "$(file -b "${BIN[$n]}" | grep -o 'static[a-z-]*\|dynamically linked' | head -1)"
done

# Starts `NAME -- sleep` as PID 1 of a new PID namespace with a private /tmp (like a container:
# the host's busy /tmp would wake respawn's trigger-file watch); prints "unshare-pid host-pid".
start_idle() {
  local n=$1
  # shellcheck disable=SC2086
  unshare -pf --mount-proc sh -c 'mount -t tmpfs tmpfs /tmp && exec "$@"' sh ${PREFIX[$n]} "$SLEEP" 100000 >/dev/null 2>&1 &
  local outer=$! inner=""
  for _ in $(seq 200); do
    inner=$(cat /proc/$outer/task/$outer/children 2>/dev/null | awk '{print $1}')
    # Ready once the supervisor has exec'd and started its child.
    if [ -n "$inner" ] && [ -n "$(cat /proc/$inner/task/$inner/children 2>/dev/null)" ]; then break; fi
    sleep 0.01
  done
  echo "$outer $inner"
}
ctxt() { awk '/voluntary_ctxt_switches/ { s += $2 } END { print s }' "/proc/$1/status"; }

echo
echo "## idle, supervising sleep as PID 1 (RSS goal <= 1.0 MiB; wake-ups goal 0)"
declare -A RSS WAKE
for n in "${NAMES[@]}"; do
  read -r outer inner < <(start_idle "$n")
  sleep 0.5
  RSS[$n]=$(awk '/^VmRSS/ { print $2 }' "/proc/$inner/status")
  c0=$(ctxt "$inner"); sleep "$IDLE"; c1=$(ctxt "$inner")
  WAKE[$n]=$(awk -v d=$((c1 - c0)) -v s="$IDLE" 'BEGIN { printf "%.2f", d / s }')
  kill -KILL "$inner" 2>/dev/null || true
  wait "$outer" 2>/dev/null || true
done
for n in "${NAMES[@]}"; do
  printf "  %-10s RSS %6d kB  %s vs tini   wake-ups/s %s\n" "$n" "${RSS[$n]}" "$(ratio "${RSS[$n]}" "${RSS[tini]}")" "${WAKE[$n]}"
done

echo
echo "## startup overhead: X -- $TRUE, $RUNS runs each (goal <= 1.05x tini)"
echo "# interleaved rounds (every command once per round, shuffled): fair under changing load"
args=("bare=$TRUE")
for n in tini respawn catatonit dumb-init; do args+=("$n=${PREFIX[$n]} $TRUE"); done
python3 bench/supervisor/interleaved.py "$RUNS" "${args[@]}"
echo "# hyperfine (one command after the other)"
json=$(mktemp)
trap 'rm -f "$json"' EXIT
cmds=()
for n in "${NAMES[@]}"; do cmds+=("${PREFIX[$n]} $TRUE"); done
hyperfine -N --warmup 50 --runs "$RUNS" --export-json "$json" --style none "$TRUE" "${cmds[@]}" >/dev/null 2>&1
python3 - "$json" "${NAMES[@]}" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))["results"]
names = ["(bare true)"] + sys.argv[2:]
med = {n: r["median"] for n, r in zip(names, res)}
for n, r in zip(names, res):
    print(f"  {n:<12} median {r['median']*1e6:8.1f} us  mean {r['mean']*1e6:8.1f} us ± {r['stddev']*1e6:7.1f}  "
          f"min {r['min']*1e6:7.1f} us  {med[n]/med['tini']:.3f}x tini (median)  {r['min']/res[2]['min']:.3f}x (min)")
PY
