#!/usr/bin/env bash
# Builds the respawn-supervisor and respawn-webhook OCI images without a Docker engine (buildah),
# into local podman/buildah storage as localhost/<name>:<tag>, and pushes them when REGISTRY is set.
#   respawn-supervisor: FROM scratch, the static supervisor at /respawn (what the injected init
#                       container runs: `/respawn install /respawn/respawn`).
#   respawn-webhook:    FROM scratch, the static webhook at /respawn-webhook, CA certificates,
#                       /etc/passwd with `nonroot`, USER 65532.
# Usage: [REGISTRY=127.0.0.1:5000] [TAG=0.1.0] [TLS_VERIFY=false] images.sh [supervisor|webhook]...
# Prints one line per image: the local reference, and the pushed reference when REGISTRY is set.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"
MUSL=x86_64-unknown-linux-musl
TAG="${TAG:-$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)}"
REGISTRY="${REGISTRY:-}"
TLS_VERIFY="${TLS_VERIFY:-false}"
CA_CERTS=/etc/ssl/certs/ca-certificates.crt
REVISION="$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
SOURCE="$(sed -n 's/^repository = "\(.*\)"/\1/p' Cargo.toml | head -1)"
say() { echo "images: $*" >&2; }
die() { echo "images: error: $*" >&2; exit 1; }

# is_static FILE: no program interpreter and no shared-library dependency.
is_static() { ! readelf -lW "$1" 2>/dev/null | grep -q 'Requesting program interpreter' && ! readelf -dW "$1" 2>/dev/null | grep -q NEEDED; }

build_supervisor() {
  cargo build -q -p respawn --profile supervisor --target "$MUSL" >&2
  local bin="target/$MUSL/supervisor/respawn"
  is_static "$bin" || die "$bin is not static"
  echo "$bin"
}

# The webhook: musl (ring's C code compiled by musl-gcc); fallback glibc with a static CRT.
build_webhook() {
  local bin="target/$MUSL/release/respawn-webhook"
  if CC_x86_64_unknown_linux_musl=musl-gcc cargo build -q -p respawn-webhook --release --target "$MUSL" >&2; then
    :
  else
    say "musl build failed; falling back to glibc with +crt-static"
    RUSTFLAGS="-C target-feature=+crt-static" \
      cargo build -q -p respawn-webhook --release --target x86_64-unknown-linux-gnu >&2
    bin="target/x86_64-unknown-linux-gnu/release/respawn-webhook"
  fi
  is_static "$bin" || die "$bin is not static"
  echo "$bin"
}

# labels NAME DESCRIPTION: buildah config arguments for the OCI annotations/labels.
labels() {
  local l=(title="$1" description="$2" version="$TAG" revision="$REVISION" created="$CREATED"
    source="$SOURCE" url="$SOURCE" licenses=Apache-2.0 vendor=respawn)
  local out=() kv
  for kv in "${l[@]}"; do out+=(--label "org.opencontainers.image.$kv"); done
  printf '%s\n' "${out[@]}"
}

# commit CTR NAME: commits the working container as localhost/NAME:TAG, pushes it if asked.
commit() {
  local ctr="$1" name="$2" ref="localhost/$2:$TAG"
  buildah commit -q --rm --format oci "$ctr" "$ref" >/dev/null
  echo "$ref"
  if [ -n "$REGISTRY" ]; then
    local remote="$REGISTRY/$name:$TAG"
    podman push -q --tls-verify="$TLS_VERIFY" "$ref" "docker://$remote" >&2
    echo "$remote"
  fi
}

image_supervisor() {
  local bin ctr
  bin="$(build_supervisor)"
  ctr="$(buildah from -q scratch)"
  buildah copy -q --chmod 0755 "$ctr" "$bin" /respawn >/dev/null
  mapfile -t lbl < <(labels respawn-supervisor "Static PID 1 supervisor; the init container copies it with: /respawn install DEST")
  buildah config "${lbl[@]}" --user 65532:65532 --entrypoint '["/respawn"]' --cmd '["--help"]' "$ctr"
  commit "$ctr" respawn-supervisor
}

image_webhook() {
  local bin ctr etc
  bin="$(build_webhook)"
  [ -s "$CA_CERTS" ] || die "$CA_CERTS missing (apt-get install ca-certificates)"
  etc="$(mktemp -d)"
  printf 'root:x:0:0:root:/:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/:/sbin/nologin\n' >"$etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' >"$etc/group"
  ctr="$(buildah from -q scratch)"
  buildah copy -q --chmod 0755 "$ctr" "$bin" /respawn-webhook >/dev/null
  buildah copy -q --chmod 0644 "$ctr" "$CA_CERTS" /etc/ssl/certs/ca-certificates.crt >/dev/null
  buildah copy -q --chmod 0644 "$ctr" "$etc/passwd" /etc/passwd >/dev/null
  buildah copy -q --chmod 0644 "$ctr" "$etc/group" /etc/group >/dev/null
  rm -rf "$etc"
  mapfile -t lbl < <(labels respawn-webhook "Kubernetes mutating admission webhook that injects the respawn supervisor")
  buildah config "${lbl[@]}" --user 65532:65532 --port 8443 --port 8080 \
    --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    --entrypoint '["/respawn-webhook"]' --cmd '[]' "$ctr"
  commit "$ctr" respawn-webhook
}

command -v buildah >/dev/null || die "buildah missing: run make deps"
which=("$@"); [ ${#which[@]} -gt 0 ] || which=(supervisor webhook)
for w in "${which[@]}"; do
  case "$w" in
    supervisor) image_supervisor ;;
    webhook) image_webhook ;;
    *) die "unknown image $w (supervisor|webhook)" ;;
  esac
done
