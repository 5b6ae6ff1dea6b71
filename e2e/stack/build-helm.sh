#!/usr/bin/env bash
# Builds helm from the Go module proxy (no binary downloads) into $RESPAWN_CACHE/tools/bin.
# Idempotent: does nothing when the pinned version is already there. Prints the helm path.
# Usage: build-helm.sh            (HELM_VERSION overrides the pinned version)
set -euo pipefail
HELM_VERSION="${HELM_VERSION:-v4.3.1}"
CACHE="${RESPAWN_CACHE:-$HOME/.cache/respawn}"
BIN="$CACHE/tools/bin"
major="${HELM_VERSION%%.*}"
out="$BIN/helm"
stamp="$BIN/.helm-version"
if [ -x "$out" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$HELM_VERSION" ]; then echo "$out"; exit 0; fi
mkdir -p "$BIN"
echo "building helm $HELM_VERSION (first time; cached afterwards)" >&2
# Build into a temporary GOBIN so a failed build never leaves a half-written helm behind.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
CGO_ENABLED=0 GOBIN="$tmp" GOFLAGS="${GOFLAGS:-} -trimpath" \
  go install -ldflags="-s -w -X helm.sh/helm/$major/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/$major/cmd/helm@$HELM_VERSION" >&2
mv "$tmp/helm" "$out"
echo "$HELM_VERSION" > "$stamp"
echo "$out"
