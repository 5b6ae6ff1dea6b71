#!/usr/bin/env bash
# Builds what the e2e node needs besides kubelet (build-kube.sh) and Debian's runc, cached in
# $RESPAWN_CACHE/node/ and reused:
#   containerd-$CONTAINERD_VERSION/  containerd, containerd-shim-runc-v2 and ctr, `go install`ed
#                                    from the Go module proxy (CGO_ENABLED=0, static)
#   crictl-$CRICTL_VERSION/crictl    the CRI client (node.sh down stops and removes every pod
#                                    sandbox through it, so containerd tears down netns and mounts)
#   pause-<hash>.tar                 the pod sandbox image: node/pause.c built static with
#                                    musl-gcc, wrapped by node/oci-archive.py; node.sh imports it
# Idempotent. Prints `NAME=path` lines: CONTAINERD_BIN_DIR, CRICTL, PAUSE_TAR, PAUSE_IMAGE.
# Usage: build-node.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
CACHE="${RESPAWN_CACHE:-$HOME/.cache/respawn}/node"
CONTAINERD_VERSION="${CONTAINERD_VERSION:-v2.2.10}"
CRICTL_VERSION="${CRICTL_VERSION:-v1.37.0}"
PAUSE_IMAGE=localhost/respawn-node/pause:1
die() { echo "build-node: error: $*" >&2; exit 1; }
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9 # one build at a time (stack.sh and make deps may both ask)

# go_install DIR MODULE@VERSION PKG...: installs the commands into DIR unless all are there.
go_install() {
  local dir="$1" version="$2" p missing=0; shift 2
  for p in "$@"; do [ -x "$dir/$(basename "$p")" ] || missing=1; done
  [ $missing -eq 1 ] || return 0
  command -v go >/dev/null || die "go not found (PATH=$PATH); install Go >= 1.25 (see make deps)"
  echo "build-node: go install $* @$version (first time; cached in $dir)" >&2
  local tmp="$dir.tmp"
  rm -rf "$tmp"; mkdir -p "$tmp"
  local pkgs=() ; for p in "$@"; do pkgs+=("$p@$version"); done
  GOBIN="$tmp" CGO_ENABLED=0 nice go install -trimpath -ldflags="-s -w" "${pkgs[@]}" >&2 ||
    die "go install ${pkgs[*]} failed"
  rm -rf "$dir"; mv "$tmp" "$dir"
}

ctrd="$CACHE/containerd-$CONTAINERD_VERSION"
go_install "$ctrd" "$CONTAINERD_VERSION" github.com/containerd/containerd/v2/cmd/containerd \
  github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2 github.com/containerd/containerd/v2/cmd/ctr
crictl_dir="$CACHE/crictl-$CRICTL_VERSION"
go_install "$crictl_dir" "$CRICTL_VERSION" sigs.k8s.io/cri-tools/cmd/crictl

# The pause image, named after its sources so a change rebuilds it.
hash="$(cat "$here/node/pause.c" "$here/node/oci-archive.py" | sha256sum | cut -c1-12)"
tar="$CACHE/pause-$hash.tar"
if [ ! -s "$tar" ]; then
  command -v musl-gcc >/dev/null || die "musl-gcc not found (apt-get install musl-tools, or make deps)"
  work="$(mktemp -d)"
  musl-gcc -static -Os -o "$work/pause" "$here/node/pause.c"
  strip "$work/pause"
  python3 "$here/node/oci-archive.py" "$PAUSE_IMAGE" "$work/pause" /pause 65535:65535 "$tar"
  rm -rf "$work"
fi
echo "CONTAINERD_BIN_DIR=$ctrd"
echo "CRICTL=$crictl_dir/crictl"
echo "PAUSE_TAR=$tar"
echo "PAUSE_IMAGE=$PAUSE_IMAGE"
