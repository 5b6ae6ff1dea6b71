#!/usr/bin/env bash
# The e2e stack's registries, built on the shared scripts registry.sh and test-images.sh:
#   REGISTRY_PORT       open registry, test images under respawn-test/NAME:v1 (test-images.sh)
#   SUPERVISOR_IMAGE    the respawn-supervisor image built from this tree (images.sh) and pushed to
#                       the open registry, by digest: 127.0.0.1:PORT/respawn-supervisor@sha256:...
#                       (the webhook injects exactly this reference, podman pulls exactly it)
#   AUTH_REGISTRY_PORT  htpasswd registry (AUTH_REGISTRY_USER / AUTH_REGISTRY_PASSWORD in
#                       stack.env) holding respawn-test/private:v1 (a copy of respawn-test/oci:v1)
# Usage: e2e-registry.sh up|down
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
OPEN="$RESPAWN_STACK_DIR/registry/open"
AUTH="$RESPAWN_STACK_DIR/registry/auth"

# push_supervisor HOST:PORT: builds respawn-supervisor, pushes it, prints its by-digest reference.
push_supervisor() {
  local remote digest
  remote="$(REGISTRY="$1" "$here/images.sh" supervisor | grep "^$1/respawn-supervisor:")" ||
    die "images.sh printed no $1/respawn-supervisor reference"
  digest="$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$remote")" ||
    die "cannot read the digest of $remote"
  echo "${remote%:*}@$digest"
}

running() { [ -f "$1/registry.pid" ] && kill -0 "$(cat "$1/registry.pid")" 2>/dev/null; }

case "${1:-}" in
  up)
    [ -x "$here/registry.sh" ] && [ -x "$here/test-images.sh" ] || die "e2e/stack/registry.sh or test-images.sh missing"
    if ! running "$OPEN"; then
      port="$(free_port)"
      "$here/registry.sh" start "$OPEN" "$port"
      env_set REGISTRY_PORT "$port"
      "$here/test-images.sh" "127.0.0.1:$port" >"$OPEN/digests.txt"
      env_set SUPERVISOR_IMAGE "$(push_supervisor "127.0.0.1:$port")"
    fi
    if ! running "$AUTH"; then
      port="$(free_port)"
      user=respawn-e2e; pass="$(openssl rand -hex 12)"
      "$here/registry.sh" start "$AUTH" "$port" "$user:$pass"
      env_set AUTH_REGISTRY_PORT "$port"
      env_set AUTH_REGISTRY_USER "$user"
      env_set AUTH_REGISTRY_PASSWORD "$pass"
      # One private image, copied from the open registry (registry to registry, no rebuild).
      skopeo copy --quiet --src-tls-verify=false --dest-tls-verify=false --dest-creds "$user:$pass" \
        "docker://127.0.0.1:$(env_get REGISTRY_PORT)/respawn-test/oci:v1" \
        "docker://127.0.0.1:$port/respawn-test/private:v1"
    fi
    log "registries ready: open 127.0.0.1:$(env_get REGISTRY_PORT), htpasswd 127.0.0.1:$(env_get AUTH_REGISTRY_PORT)"
    ;;
  down)
    [ -x "$here/registry.sh" ] || exit 0
    "$here/registry.sh" stop "$OPEN" || true
    "$here/registry.sh" stop "$AUTH" || true
    ;;
  *) die "usage: e2e-registry.sh up|down" ;;
esac
