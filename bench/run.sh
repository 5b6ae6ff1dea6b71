#!/usr/bin/env bash
# Runs every benchmark in bench/ (each prints ratios against anchors measured in the same run).
set -euo pipefail
cd "$(dirname "$0")"
for b in ./bench-*.sh; do
  [ -x "$b" ] || { echo "bench: FAILED: $b is not executable" >&2; exit 1; }
  echo "=== $b"
  "$b"
done
