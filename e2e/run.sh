#!/usr/bin/env bash
# Brings up the local stack and runs the e2e suite.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test -p respawn-e2e -- --test-threads=1
