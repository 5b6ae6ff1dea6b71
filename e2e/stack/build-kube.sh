#!/usr/bin/env bash
# Builds kube-apiserver (and optionally other k8s.io/kubernetes commands) from the Go module proxy.
# k8s.io/kubernetes replaces its staging modules with ./staging/src paths; a consumer module must map
# each of them to the published k8s.io/<name> v0.Y.Z. This script writes that go.mod and builds.
# Idempotent: binaries are cached in $RESPAWN_CACHE/kube/<version>/.
# Usage: build-kube.sh [CMD...]   (default: kube-apiserver)
set -euo pipefail
KUBE_VERSION="${KUBE_VERSION:-v1.36.3}"
CACHE="${RESPAWN_CACHE:-$HOME/.cache/respawn}"
OUT="$CACHE/kube/$KUBE_VERSION"
cmds=("$@"); [ ${#cmds[@]} -gt 0 ] || cmds=(kube-apiserver)
mkdir -p "$OUT"
missing=()
for c in "${cmds[@]}"; do [ -x "$OUT/$c" ] || missing+=("$c"); done
if [ ${#missing[@]} -eq 0 ]; then echo "$OUT"; exit 0; fi

work="$CACHE/kube/build-$KUBE_VERSION"
mkdir -p "$work"
cd "$work"
minor="v0.${KUBE_VERSION#v1.}"
gomod_file=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
{
  echo "module respawn.local/kubebuild"
  echo
  echo "go $(sed -n 's/^go //p' "$gomod_file")"
  echo
  echo "require k8s.io/kubernetes $KUBE_VERSION"
  echo
  sed -n 's#^[[:space:]]*\(k8s.io/[^ ]*\) => ./staging/src/.*#\1#p' "$gomod_file" | sort -u | while read -r m; do
    echo "replace $m => $m $minor"
  done
} > go.mod.new
mv go.mod.new go.mod
cat > main.go <<'GO'
package kubebuild
GO
# tools.go pins the commands so `go mod tidy` keeps their dependencies.
{
  echo "//go:build tools"
  echo "package kubebuild"
  echo "import ("
  for c in "${cmds[@]}"; do echo "  _ \"k8s.io/kubernetes/cmd/$c\""; done
  echo ")"
} > tools.go
GOFLAGS=-mod=mod go mod tidy >&2
# Stamp the version (`--version`, /version) the way the Kubernetes release build does.
v=k8s.io/component-base/version
major="${KUBE_VERSION#v}"; major="${major%%.*}"; minor_n="${KUBE_VERSION#v*.}"; minor_n="${minor_n%%.*}"
version_flags="-X $v.gitVersion=$KUBE_VERSION -X $v.gitMajor=$major -X $v.gitMinor=$minor_n -X $v.gitTreeState=clean"
for c in "${missing[@]}"; do
  echo "building $c $KUBE_VERSION (first time; cached afterwards)" >&2
  CGO_ENABLED=0 go build -trimpath -ldflags="-s -w $version_flags" -o "$OUT/$c.tmp" "k8s.io/kubernetes/cmd/$c" >&2
  mv "$OUT/$c.tmp" "$OUT/$c"
done
echo "$OUT"
