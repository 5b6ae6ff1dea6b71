#!/usr/bin/env bash
# Builds the respawn-supervisor and respawn-webhook OCI images without a Docker engine (buildah),
# into local podman/buildah storage as localhost/<name>:<tag>, and pushes them when REGISTRY is set.
# Both are OCI image indexes (buildah manifest lists) with one entry per platform in PLATFORMS
# (default "amd64 arm64": linux/amd64 and linux/arm64), pushed as one reference; the entries are
# localhost/<name>:<tag>-<arch>. After a push the index is read back (skopeo inspect --raw) and
# must list exactly those platforms. The arm64 binaries are cross-built: aarch64 musl, linked
# by the toolchain's rust-lld; the webhook's C code (ring, aws-lc) is compiled by
# Debian's gcc-aarch64-linux-gnu (make deps installs it).
#   respawn-supervisor: FROM scratch, the static supervisor at /respawn (what the injected init
#                       container runs: `/respawn install /respawn/respawn`).
#   respawn-webhook:    FROM scratch, the static webhook at /respawn-webhook, CA certificates,
#                       /etc/passwd with `nonroot`, USER 65532.
# Sample apps for `make demo` and the runtime e2e suite (not built by default):
#   respawn-sample-app:   FROM scratch, no shell: e2e/sample-app (static, std only) at /sample-app;
#                         ENTRYPOINT + CMD in the image (the webhook must look them up), a `$` in CMD.
#   respawn-sample-shell: busybox-static; a shell ENTRYPOINT that exits 42 on SIGTERM.
# For `make kind-e2e` (not built by default):
#   respawn-e2e-registry: Debian's docker-registry (distribution v2) with the shared libraries it
#                         links, plain HTTP on :5000, storage in /var/lib/registry; the registry
#                         container kind's nodes pull from (no image from an outside registry).
# Usage: [REGISTRY=127.0.0.1:5000] [TAG=0.1.0] [TLS_VERIFY=false] [PLATFORMS="amd64 arm64"] images.sh [supervisor|webhook|samples|registry]...
# Prints one line per image: the local reference, and the pushed reference when REGISTRY is set.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"
MUSL=x86_64-unknown-linux-musl
ARM64=aarch64-unknown-linux-musl
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER="${CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER:-rust-lld}"
read -ra PLATFORMS <<<"${PLATFORMS:-amd64 arm64}"
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

# target_of ARCH: the Rust target of an image platform's binaries.
target_of() {
  case "$1" in
    amd64) echo "$MUSL" ;;
    arm64) echo "$ARM64" ;;
    *) die "unsupported platform linux/$1 (PLATFORMS: amd64, arm64)" ;;
  esac
}

build_supervisor() { # ARCH
  local target bin
  target="$(target_of "$1")"
  cargo build -q -p respawn --profile supervisor --target "$target" >&2
  bin="target/$target/supervisor/respawn"
  is_static "$bin" || die "$bin is not static"
  echo "$bin"
}

# The webhook: musl (ring's C code compiled by musl-gcc); fallback glibc with a static CRT.
# arm64: musl, C code by gcc-aarch64-linux-gnu, linked by rust-lld against Rust's own musl.
build_webhook() { # ARCH
  if [ "$1" = arm64 ]; then build_webhook_arm64; return; fi
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
  # Debug symbols stay in target/; the image gets a stripped copy.
  strip -o "$bin.stripped" "$bin"
  echo "$bin.stripped"
}

build_webhook_arm64() {
  local bin="target/$ARM64/release/respawn-webhook" cc=aarch64-linux-gnu-gcc
  command -v "$cc" >/dev/null || die "$cc missing: run make deps (gcc-aarch64-linux-gnu)"
  CC_aarch64_unknown_linux_musl="$cc" AR_aarch64_unknown_linux_musl=aarch64-linux-gnu-ar \
    cargo build -q -p respawn-webhook --release --target "$ARM64" >&2
  is_static "$bin" || die "$bin is not static"
  aarch64-linux-gnu-strip -o "$bin.stripped" "$bin"
  echo "$bin.stripped"
}

# labels NAME DESCRIPTION: buildah config arguments for the OCI annotations/labels.
labels() {
  local l=(title="$1" description="$2" version="$TAG" revision="$REVISION" created="$CREATED"
    source="$SOURCE" url="$SOURCE" licenses=Apache-2.0 vendor=respawn)
  local out=() kv
  for kv in "${l[@]}"; do out+=(--label "org.opencontainers.image.$kv"); done
  printf '%s\n' "${out[@]}"
}

# verify REF: the committed image is non-root and carries the OCI labels.
verify() {
  local got
  got="$(podman image inspect --format '{{.Config.User}} {{index .Labels "org.opencontainers.image.title"}} {{index .Labels "org.opencontainers.image.version"}} {{index .Labels "org.opencontainers.image.revision"}}' "$1")"
  case "$got" in
    "65532:65532 "*" $TAG $REVISION") ;;
    *) die "$1: expected user 65532:65532 and OCI title/version/revision labels, got: $got" ;;
  esac
}

# commit CTR NAME: commits the working container as localhost/NAME:TAG, pushes it if asked.
commit() {
  local ctr="$1" name="$2" ref="localhost/$2:$TAG"
  buildah commit -q --rm --format oci "$ctr" "$ref" >/dev/null
  verify "$ref"
  echo "$ref"
  if [ -n "$REGISTRY" ]; then
    local remote="$REGISTRY/$name:$TAG"
    podman push -q --tls-verify="$TLS_VERIFY" "$ref" "docker://$remote" >&2
    echo "$remote"
  fi
}

# commit_arch CTR NAME ARCH: commits the working container as the linux/ARCH entry
# localhost/NAME:TAG-ARCH of an index (not pushed by itself).
commit_arch() {
  local ctr="$1" ref="localhost/$2:$TAG-$3" got
  buildah config --os linux --arch "$3" "$ctr"
  buildah commit -q --rm --format oci "$ctr" "$ref" >/dev/null
  verify "$ref"
  got="$(podman image inspect --format '{{.Os}}/{{.Architecture}}' "$ref")"
  [ "$got" = "linux/$3" ] || die "$ref: expected platform linux/$3, got $got"
}

# publish_index NAME: the index localhost/NAME:TAG of the PLATFORMS entries; pushed with all its
# entries when REGISTRY is set, then read back: it must list exactly linux/<each of PLATFORMS>.
publish_index() {
  local name="$1" ref="localhost/$1:$TAG" arch want got
  buildah manifest rm "$ref" >/dev/null 2>&1 || buildah rmi -f "$ref" >/dev/null 2>&1 || true
  buildah manifest create "$ref" >/dev/null
  for arch in "${PLATFORMS[@]}"; do
    buildah manifest add --os linux --arch "$arch" "$ref" "containers-storage:$ref-$arch" >/dev/null
  done
  echo "$ref"
  [ -n "$REGISTRY" ] || return 0
  local remote="$REGISTRY/$name:$TAG"
  buildah manifest push -q --all --format oci --tls-verify="$TLS_VERIFY" "$ref" "docker://$remote" >&2
  want="application/vnd.oci.image.index.v1+json $(printf 'linux/%s\n' "${PLATFORMS[@]}" | sort | paste -sd,)"
  got="$(skopeo inspect --raw --tls-verify="$TLS_VERIFY" "docker://$remote" |
    jq -r '.mediaType + " " + (.manifests // [] | map(.platform.os + "/" + .platform.architecture) | sort | join(","))')"
  [ "$got" = "$want" ] || die "$remote: skopeo inspect --raw shows '$got', expected '$want'"
  say "$remote: $got"
  echo "$remote"
}

image_supervisor() {
  local arch
  for arch in "${PLATFORMS[@]}"; do image_supervisor_arch "$arch"; done
  publish_index respawn-supervisor
}

image_supervisor_arch() { # ARCH
  local bin ctr
  bin="$(build_supervisor "$1")"
  ctr="$(buildah from -q scratch)"
  buildah copy -q --chmod 0755 "$ctr" "$bin" /respawn >/dev/null
  mapfile -t lbl < <(labels respawn-supervisor "Static PID 1 supervisor; the init container copies it with: /respawn install DEST")
  buildah config "${lbl[@]}" --user 65532:65532 --entrypoint '["/respawn"]' --cmd '["--help"]' "$ctr"
  commit_arch "$ctr" respawn-supervisor "$1"
}

image_webhook() {
  local arch
  for arch in "${PLATFORMS[@]}"; do image_webhook_arch "$arch"; done
  publish_index respawn-webhook
}

image_webhook_arch() { # ARCH
  local bin ctr etc
  bin="$(build_webhook "$1")"
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
  commit_arch "$ctr" respawn-webhook "$1"
}

# The no-shell sample app: std-only Rust, so plain rustc builds it static in seconds.
image_sample_app() {
  local bin="target/sample-app/sample-app" ctr app
  mkdir -p "$(dirname "$bin")"
  rustc --edition 2021 -O -C strip=symbols --target "$MUSL" -o "$bin" e2e/sample-app/main.rs
  is_static "$bin" || die "$bin is not static"
  # /app (watched in the demo) and /tmp (where Tilt's trigger file /tmp/.restart-proc goes).
  app="$(mktemp -d)"; mkdir -p "$app/app" "$app/tmp"; chmod 1777 "$app/tmp"
  ctr="$(buildah from -q scratch)"
  buildah copy -q --chmod 0755 "$ctr" "$bin" /sample-app >/dev/null
  buildah copy -q --chown 65532:65532 "$ctr" "$app" / >/dev/null
  rm -rf "$app"
  mapfile -t lbl < <(labels respawn-sample-app "respawn demo app: no shell, prints its pid and argv")
  buildah config "${lbl[@]}" --user 65532:65532 --workingdir /app --entrypoint '["/sample-app"]' \
    --cmd '["--greeting", "it costs $$5 $(NOT_A_VAR)", "--tick", "2"]' "$ctr"
  commit "$ctr" respawn-sample-app
}

# A shell app from busybox-static: exits 42 on SIGTERM, so a stop's exit code is recognisable.
image_sample_shell() {
  local root ctr a
  [ -x /bin/busybox ] || die "/bin/busybox missing (apt-get install busybox-static)"
  root="$(mktemp -d)"; mkdir -p "$root/bin" "$root/app" "$root/tmp"; chmod 1777 "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  for a in sh sleep echo cat ls ps id; do ln -s busybox "$root/bin/$a"; done
  ctr="$(buildah from -q scratch)"
  buildah copy -q "$ctr" "$root" / >/dev/null
  rm -rf "$root"
  mapfile -t lbl < <(labels respawn-sample-shell "respawn test app: busybox shell, exits 42 on SIGTERM")
  buildah config "${lbl[@]}" --user 65532:65532 --env PATH=/bin \
    --entrypoint '["/bin/sh", "-c", "trap \"echo sample-shell: got SIGTERM, exiting 42; exit 42\" TERM; echo sample-shell: started pid=$$ args=$*; while true; do sleep 1; done", "sample-shell"]' \
    --cmd '["hello", "world"]' "$ctr"
  commit "$ctr" respawn-sample-shell
}

# The e2e registry for kind: the host's docker-registry binary plus exactly the libraries it links.
image_registry() {
  local bin root lib ctr
  bin="$(command -v docker-registry)" || die "docker-registry missing (apt-get install docker-registry)"
  root="$(mktemp -d)"; mkdir -p "$root/etc/docker/registry" "$root/tmp" "$root/storage/registry"
  chmod 1777 "$root/tmp"
  install -D -m 0755 "$bin" "$root/usr/bin/docker-registry"
  for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do install -D -m 0755 "$lib" "$root$lib"; done
  cat >"$root/etc/docker/registry/config.yml" <<'YAML'
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
http:
  addr: :5000
YAML
  ctr="$(buildah from -q scratch)"
  buildah copy -q --chown 65532:65532 "$ctr" "$root/storage" /var/lib >/dev/null
  rm -rf "$root/storage"
  buildah copy -q "$ctr" "$root" / >/dev/null
  rm -rf "$root"
  mapfile -t lbl < <(labels respawn-e2e-registry "OCI distribution registry (Debian docker-registry) for respawn's kind e2e")
  buildah config "${lbl[@]}" --user 65532:65532 --port 5000 \
    --entrypoint '["/usr/bin/docker-registry", "serve", "/etc/docker/registry/config.yml"]' --cmd '[]' "$ctr"
  commit "$ctr" respawn-e2e-registry
}

command -v buildah >/dev/null || die "buildah missing: run make deps"
which=("$@"); [ ${#which[@]} -gt 0 ] || which=(supervisor webhook)
for w in "${which[@]}"; do
  case "$w" in
    supervisor) image_supervisor ;;
    webhook) image_webhook ;;
    samples) image_sample_app; image_sample_shell ;;
    registry) image_registry ;;
    *) die "unknown image $w (supervisor|webhook|samples|registry)" ;;
  esac
done
