# Shared helpers for the e2e stack scripts (sourced, not run).
# State lives in $RESPAWN_STACK_DIR (default: <repo>/.stack): pki/, logs/, pids/, data dirs, stack.env.

STACK_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export RESPAWN_STACK_DIR="$(realpath -m "${RESPAWN_STACK_DIR:-$STACK_REPO/.stack}")"
export RESPAWN_CACHE="${RESPAWN_CACHE:-$HOME/.cache/respawn}"
export KUBE_VERSION="${KUBE_VERSION:-v1.36.3}"
STACK_PKI="$RESPAWN_STACK_DIR/pki"
STACK_LOGS="$RESPAWN_STACK_DIR/logs"
STACK_PIDS="$RESPAWN_STACK_DIR/pids"
STACK_ENV="$RESPAWN_STACK_DIR/stack.env"

log() { echo "stack: $*" >&2; }
die() { echo "stack: error: $*" >&2; exit 1; }

stack_dirs() { mkdir -p "$STACK_PKI" "$STACK_LOGS" "$STACK_PIDS"; }

# free_port: prints a TCP port nobody listens on (127.0.0.1), from a range clear of the kernel's
# ephemeral range so outgoing connections do not take it before we bind. Ports handed out are
# recorded (under a lock) so components started in parallel never get the same one.
free_port() {
  stack_dirs
  (
    flock 8
    local p i
    for i in $(seq 1 200); do
      p=$((20000 + RANDOM % 12000))
      if [ -z "$(ss -Htln "sport = :$p" 2>/dev/null)" ] && ! grep -qsx "$p" "$RESPAWN_STACK_DIR/ports"; then
        echo "$p" >>"$RESPAWN_STACK_DIR/ports"
        echo "$p"; exit 0
      fi
    done
    exit 1
  ) 8>"$RESPAWN_STACK_DIR/.ports.lock" || die "no free port found"
}

# env_get NAME: the value of NAME in stack.env (empty if unset).
env_get() { [ -f "$STACK_ENV" ] && sed -n "s/^export $1=//p" "$STACK_ENV" | tail -1 | tr -d "'" || true; }

# env_set NAME VALUE: records NAME=VALUE in stack.env (replacing an older value), under a lock.
env_set() {
  stack_dirs
  (
    flock 8
    touch "$STACK_ENV"
    sed -i "/^export $1=/d" "$STACK_ENV"
    echo "export $1='$2'" >>"$STACK_ENV"
  ) 8>"$RESPAWN_STACK_DIR/.env.lock"
}

# alive NAME: true when the process recorded in pids/NAME.pid runs.
alive() {
  local f="$STACK_PIDS/$1.pid"
  [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null
}

# start_bg NAME CMD...: starts CMD in the background with its own log and pid file.
start_bg() {
  local name="$1"; shift
  stack_dirs
  log "starting $name (log: $STACK_LOGS/$name.log)"
  [ ! -f "$STACK_LOGS/$name.log" ] || mv -f "$STACK_LOGS/$name.log" "$STACK_LOGS/$name.log.prev"
  setsid "$@" >>"$STACK_LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$STACK_PIDS/$name.pid"
}

# stop_bg NAME: TERM, then KILL after 10 s, the process in pids/NAME.pid; removes the pid file.
stop_bg() {
  local f="$STACK_PIDS/$1.pid" pid i
  [ -f "$f" ] || return 0
  pid="$(cat "$f")"
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping $1 (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

# wait_for WHAT SECONDS CMD...: retries CMD every 0.2 s until it succeeds or SECONDS pass.
wait_for() {
  local what="$1" secs="$2" i; shift 2
  for i in $(seq 1 $((secs * 5))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  return 1
}

# tail_log NAME: last lines of logs/NAME.log, for error messages.
tail_log() { tail -n 30 "$STACK_LOGS/$1.log" 2>/dev/null | sed "s/^/  $1| /" >&2 || true; }
