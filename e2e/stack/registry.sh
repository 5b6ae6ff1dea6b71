#!/usr/bin/env bash
# A local OCI registry (Debian's docker-registry, i.e. distribution v2) on 127.0.0.1, for tests.
#   registry.sh start DIR PORT [USER:PASS]   config, storage, log and pid file under DIR; with
#                                            USER:PASS the registry requires htpasswd Basic auth.
#   registry.sh start-token DIR PORT REALM ISSUER SERVICE CERT.pem
#                                            Bearer-token auth: tokens from REALM, signed by the
#                                            key of CERT.pem (the test runs the token server).
#   registry.sh stop DIR                     stops the registry started in DIR (by its pid file).
# Waits until /v2/ answers. Logs: DIR/registry.log (every request is logged, tests count them).
# Storage is DIR/data (make it a symlink to share another registry's images).
# Environment: REGISTRY_TLS_CERT + REGISTRY_TLS_KEY (PEM files) serve HTTPS instead of HTTP;
# REGISTRY_OWNER_PID stops the registry when that process exits (test harnesses).
set -euo pipefail

die() { echo "registry.sh: error: $*" >&2; exit 1; }
command -v docker-registry >/dev/null || die "docker-registry not installed (apt-get install docker-registry; or make deps)"

write_config() { # DIR PORT AUTH_YAML
  mkdir -p "$1/data"
  cat >"$1/config.yml" <<YAML
version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $1/data
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: 127.0.0.1:$2
  headers:
    X-Content-Type-Options: [nosniff]
$(tls_yaml)
$3
YAML
}

tls_yaml() {
  [ -n "${REGISTRY_TLS_CERT:-}" ] || return 0
  [ -f "$REGISTRY_TLS_CERT" ] && [ -f "${REGISTRY_TLS_KEY:-}" ] || die "REGISTRY_TLS_CERT/REGISTRY_TLS_KEY: no such files"
  printf '  tls:\n    certificate: %s\n    key: %s\n' "$REGISTRY_TLS_CERT" "$REGISTRY_TLS_KEY"
}

start() { # DIR PORT
  local dir="$1" port="$2"
  if [ -f "$dir/registry.pid" ] && kill -0 "$(cat "$dir/registry.pid")" 2>/dev/null; then
    die "a registry already runs from $dir (pid $(cat "$dir/registry.pid"))"
  fi
  setsid docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 </dev/null &
  local rpid=$!
  echo "$rpid" >"$dir/registry.pid"
  if [ -n "${REGISTRY_OWNER_PID:-}" ]; then
    ( while kill -0 "$REGISTRY_OWNER_PID" 2>/dev/null && kill -0 "$rpid" 2>/dev/null; do sleep 0.5; done
      kill "$rpid" 2>/dev/null ) >/dev/null 2>&1 </dev/null &
  fi
  local scheme=http
  [ -n "${REGISTRY_TLS_CERT:-}" ] && scheme=https
  for _ in $(seq 1 100); do
    # 200 (open) or 401 (auth) both mean it is serving.
    code="$(curl -sk -o /dev/null -w '%{http_code}' "$scheme://127.0.0.1:$port/v2/" || true)"
    if [ "$code" = 200 ] || [ "$code" = 401 ]; then echo "registry.sh: serving 127.0.0.1:$port from $dir" >&2; return 0; fi
    kill -0 "$(cat "$dir/registry.pid")" 2>/dev/null || { cat "$dir/registry.log" >&2; die "registry exited"; }
    sleep 0.1
  done
  cat "$dir/registry.log" >&2
  die "registry on 127.0.0.1:$port did not answer in 10 s"
}

case "${1:-}" in
  start)
    [ $# -ge 3 ] || die "usage: registry.sh start DIR PORT [USER:PASS]"
    dir="$(mkdir -p "$2" && cd "$2" && pwd)"; port="$3"; auth=""
    if [ -n "${4:-}" ]; then
      command -v htpasswd >/dev/null || die "htpasswd not installed (apt-get install apache2-utils)"
      htpasswd -Bbc "$dir/htpasswd" "${4%%:*}" "${4#*:}" 2>/dev/null
      auth="auth:
  htpasswd:
    realm: respawn-test
    path: $dir/htpasswd"
    fi
    write_config "$dir" "$port" "$auth"
    start "$dir" "$port"
    ;;
  start-token)
    [ $# -eq 7 ] || die "usage: registry.sh start-token DIR PORT REALM ISSUER SERVICE CERT.pem"
    dir="$(mkdir -p "$2" && cd "$2" && pwd)"
    write_config "$dir" "$3" "auth:
  token:
    realm: $4
    issuer: $5
    service: $6
    rootcertbundle: $7"
    start "$dir" "$3"
    ;;
  stop)
    [ $# -eq 2 ] || die "usage: registry.sh stop DIR"
    pidf="$2/registry.pid"
    [ -f "$pidf" ] || exit 0
    pid="$(cat "$pidf")"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    fi
    rm -f "$pidf"
    ;;
  *) die "usage: registry.sh start DIR PORT [USER:PASS] | start-token DIR PORT REALM ISSUER SERVICE CERT | stop DIR" ;;
esac
