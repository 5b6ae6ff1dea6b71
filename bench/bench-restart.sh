#!/usr/bin/env bash
# Live-restart benchmarks (issue 3), every anchor measured in the same run:
#  (a) restart latency, request -> new child exec: respawn SIGHUP, `respawn restart`, docker-entrypoint SIGHUP
#  (b) trigger-file write / file change -> new child exec: respawn, watchexec, entr
#  (c) idle RSS with a watch on a 10,000-file tree: respawn vs watchexec
# Anchors are installed once and cached under $RESPAWN_CACHE/tools: watchexec-cli from crates.io
# (cargo install --locked), docker-entrypoint from PyPI (venv); entr comes from Debian.
# Knobs: BENCH_ITERS (default 50), BENCH_DE_ITERS (docker-entrypoint sleeps 2.5 s per restart; default 50),
# RESPAWN_BIN (default: the static `make supervisor` binary).
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${RESPAWN_CACHE:-$HOME/.cache/respawn}
TOOLS=$CACHE/tools
mkdir -p "$TOOLS"

RESPAWN=${RESPAWN_BIN:-$PWD/target/x86_64-unknown-linux-musl/supervisor/respawn}
if [ ! -x "$RESPAWN" ]; then
  echo "bench-restart: $RESPAWN missing; building it (make supervisor)"
  make -s supervisor >/dev/null
fi

# The child: a static C program that stamps CLOCK_REALTIME at exec.
STAMP=$TOOLS/respawn-bench-stamp
if [ ! -x "$STAMP" ] || [ bench/restart/stamp.c -nt "$STAMP" ]; then
  if command -v musl-gcc >/dev/null; then musl-gcc -static -O2 -o "$STAMP" bench/restart/stamp.c
  else gcc -static -O2 -o "$STAMP" bench/restart/stamp.c; fi
fi

WATCHEXEC=$TOOLS/bin/watchexec
if [ ! -x "$WATCHEXEC" ]; then
  echo "bench-restart: installing watchexec-cli from crates.io (once, cached; takes minutes)"
  cargo install --locked --quiet watchexec-cli --root "$TOOLS" ||
    { echo "bench-restart: FAILED: the anchor watchexec did not install" >&2; exit 1; }
fi
DE_VENV=$TOOLS/docker-entrypoint-venv
if [ ! -x "$DE_VENV/bin/entrypoint" ]; then
  echo "bench-restart: installing docker-entrypoint from PyPI into $DE_VENV (once, cached)"
  { python3 -m venv "$DE_VENV" && "$DE_VENV/bin/pip" install --quiet docker-entrypoint; } ||
    { echo "bench-restart: FAILED: the anchor docker-entrypoint did not install" >&2; exit 1; }
fi
ENTR=$(command -v entr || true)
# Every anchor or no benchmark: a ratio against nothing is not a figure.
missing=()
[ -x "$WATCHEXEC" ] || missing+=(watchexec)
[ -n "$ENTR" ] || missing+=("entr (make deps installs it)")
[ -x "$DE_VENV/bin/entrypoint" ] || missing+=(docker-entrypoint)
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench-restart: FAILED: anchor(s) missing: ${missing[*]}" >&2
  exit 1
fi
args=(--respawn "$RESPAWN" --stamp "$STAMP" --iters "${BENCH_ITERS:-50}" --de-iters "${BENCH_DE_ITERS:-50}"
  --watchexec "$WATCHEXEC" --entr "$ENTR" --docker-entrypoint "$DE_VENV/bin/entrypoint")

echo "respawn $("$RESPAWN" --version 2>/dev/null | head -1) ($(stat -c %s "$RESPAWN") bytes, goal <= $((700 * 1024)))"
echo "anchor: $("$WATCHEXEC" --version | head -1)"
echo "anchor: entr $(dpkg-query -W -f '${Version}' entr 2>/dev/null || echo '?')"
echo "anchor: docker-entrypoint $("$DE_VENV/bin/pip" show docker-entrypoint 2>/dev/null | sed -n 's/^Version: //p')"
exec python3 bench/restart/measure.py "${args[@]}"
