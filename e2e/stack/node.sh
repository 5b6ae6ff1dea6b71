#!/usr/bin/env bash
# The stack's node: containerd 2.x (build-node.sh) with Debian's runc, and a kubelet
# (build-kube.sh) registered with the stack's kube-apiserver as the node `127.0.0.1`.
# Pods created through the API are scheduled there (kube-scheduler) and run; `kubectl exec`/`logs`
# reach the kubelet on 127.0.0.1. Why each setting: docs/e2e.md ("The node").
#
# Per stack, under $RESPAWN_STACK_DIR/node: containerd's root/state/sockets, runc's state, the
# pods' network namespaces, the kubelet's root dir and pod logs, the CNI config, and the cgroup
# root /respawn-<hash of the stack dir> in every hierarchy; the kubelet's and containerd's ports
# are free ones. Host-global (constants in kubelet/containerd, see docs/e2e.md): shim sockets in
# /run/containerd/s/ (named by a hash of socket and container), the kubelet's log symlinks in
# /var/log/containers/, its device-plugin socket /var/lib/kubelet/device-plugins/kubelet.sock,
# and CNI result files in /var/lib/cni/results/ (removed with each pod's network); `down` removes
# what is this node's.
#
# Usage: node.sh up|down|leftovers
#   up         start containerd and the kubelet; returns when the node is Ready
#   down       stop every pod sandbox, the kubelet and containerd; remove the node's mounts,
#              cgroups, network namespaces, processes and log symlinks; fails if any remain
#   leftovers  list what of this node is still on the host (exit 1 when something is)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
NODE_DIR="$RESPAWN_STACK_DIR/node"
NODE_NAME=127.0.0.1
SOCK="$NODE_DIR/containerd/containerd.sock"
KUBE_BIN_DIR="$RESPAWN_CACHE/kube/$KUBE_VERSION"
CGROUP_ROOT="/respawn-$(printf '%s' "$RESPAWN_STACK_DIR" | sha256sum | cut -c1-10)"
LOG_LINKS=/var/log/containers
DEVICE_SOCKET=/var/lib/kubelet/device-plugins/kubelet.sock

# Every cgroup hierarchy's mount point (v1 controllers, name=systemd, the unified/v2 one).
hierarchies() { awk '$9 == "cgroup" || $9 == "cgroup2" { print $5 }' /proc/self/mountinfo | sort -u; }

# Mount points at or below the node dir, innermost (last mounted) first.
node_mounts() {
  awk -v d="$NODE_DIR" '{ p = $5; gsub(/\\040/, " ", p); if (p == d || index(p, d "/") == 1) print p }' \
    /proc/self/mountinfo | tac
}

# Pids in this node's cgroups (pods' processes), and this containerd's shims (they outlive
# containerd and sit in the cgroup of whoever started it; their command line names its socket).
node_pids() {
  local h p
  for h in $(hierarchies); do
    [ -d "$h$CGROUP_ROOT" ] && find "$h$CGROUP_ROOT" -name cgroup.procs -exec cat {} + 2>/dev/null
  done
  for p in /proc/[0-9]*; do
    tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -q "^[^ ]*containerd-shim[^ ]* .*-address $SOCK " && echo "${p#/proc/}"
  done
  true
}

ctr_() { "$CONTAINERD_BIN_DIR/ctr" --address "$SOCK" --namespace k8s.io "$@"; }
kubectl_() { "$KUBE_BIN_DIR/kubectl" --kubeconfig "$(env_get KUBECONFIG)" "$@"; }
# Ready, and schedulable: the node lifecycle controller has lifted the not-ready taint.
node_ready() {
  [ "$(kubectl_ get node "$NODE_NAME" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status} {.spec.taints}' 2>/dev/null)" = "True " ]
}

tools() {
  eval "$("$here/build-node.sh")"
  "$here/build-kube.sh" kubelet kubectl >/dev/null
  RUNC="$(command -v runc || true)"
  [ -x "$RUNC" ] || die "runc not found: run make deps (Debian package runc)"
  [ -x /usr/lib/cni/loopback ] || die "/usr/lib/cni/loopback missing: run make deps (Debian package containernetworking-plugins)"
}

# The cgroup root in every hierarchy; cpuset needs its cpus/mems before children can be made.
make_cgroup_root() {
  local h
  for h in $(hierarchies); do
    mkdir -p "$h$CGROUP_ROOT"
    if [ -f "$h/cpuset.cpus" ]; then
      [ -s "$h$CGROUP_ROOT/cpuset.cpus" ] && [ -n "$(cat "$h$CGROUP_ROOT/cpuset.cpus")" ] || cat "$h/cpuset.cpus" >"$h$CGROUP_ROOT/cpuset.cpus"
      [ -n "$(cat "$h$CGROUP_ROOT/cpuset.mems")" ] || cat "$h/cpuset.mems" >"$h$CGROUP_ROOT/cpuset.mems"
    fi
    if [ -f "$h/cgroup.subtree_control" ] && [ -n "$(cat "$h/cgroup.controllers" 2>/dev/null)" ]; then
      # cgroup v2 with controllers: delegate them to the node's subtree.
      sed 's/\([^ ]*\)/+\1/g' "$h/cgroup.subtree_control" >"$h$CGROUP_ROOT/cgroup.subtree_control" 2>/dev/null || true
    fi
  done
}

# Plain-HTTP access to the stack's registries (read by containerd at pull time).
registry_hosts() {
  local port dir
  for port in "$(env_get REGISTRY_PORT)" "$(env_get AUTH_REGISTRY_PORT)"; do
    [ -n "$port" ] || continue
    dir="$NODE_DIR/containerd/certs.d/127.0.0.1:$port"
    mkdir -p "$dir"
    printf 'server = "http://127.0.0.1:%s"\n\n[host."http://127.0.0.1:%s"]\n  capabilities = ["pull", "resolve"]\n' \
      "$port" "$port" >"$dir/hosts.toml"
  done
}

write_containerd_config() {
  mkdir -p "$NODE_DIR/containerd" "$NODE_DIR/cni/bin" "$NODE_DIR/cni/net.d"
  ln -sf /usr/lib/cni/loopback "$NODE_DIR/cni/bin/loopback"
  install -m 0755 "$here/node/lo-only" "$NODE_DIR/cni/bin/lo-only"
  printf '{"cniVersion":"1.0.0","name":"lo-only","plugins":[{"type":"lo-only"}]}\n' \
    >"$NODE_DIR/cni/net.d/10-lo-only.conflist"
  cat >"$NODE_DIR/containerd/config.toml" <<EOF
# Written by e2e/stack/node.sh; see docs/e2e.md ("The node").
version = 3
root = "$NODE_DIR/containerd/root"
state = "$NODE_DIR/containerd/state"
imports = []
disabled_plugins = [
  "io.containerd.nri.v1.nri",
  "io.containerd.internal.v1.opt",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.erofs",
  "io.containerd.snapshotter.v1.blockfile",
  "io.containerd.differ.v1.erofs",
  "io.containerd.mount-handler.v1.erofs",
]

[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[debug]
  address = ""
  level = "info"
[metrics]
  address = ""

[plugins."io.containerd.image-verifier.v1.bindir"]
  bin_dir = "$NODE_DIR/containerd/image-verifiers"

[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "$PAUSE_IMAGE"
  [plugins."io.containerd.cri.v1.images".registry]
    config_path = "$NODE_DIR/containerd/certs.d"

[plugins."io.containerd.cri.v1.runtime"]
  enable_selinux = false
  enable_cdi = false
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        BinaryName = "$RUNC"
        Root = "$NODE_DIR/runc"
        SystemdCgroup = false
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["$NODE_DIR/cni/bin"]
    conf_dir = "$NODE_DIR/cni/net.d"
EOF
}

write_kubelet_config() {
  local port="$1" healthz="$2"
  cat >"$NODE_DIR/kubelet-config.yaml" <<EOF
# Written by e2e/stack/node.sh; see docs/e2e.md ("The node").
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: $port
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $healthz
containerRuntimeEndpoint: unix://$SOCK
imageServiceEndpoint: unix://$SOCK
podLogsDir: $NODE_DIR/pod-logs
cgroupDriver: cgroupfs
cgroupRoot: $CGROUP_ROOT
failCgroupV1: false
failSwapOn: false
resolvConf: ""
clusterDomain: cluster.local
authentication:
  anonymous:
    enabled: true
  webhook:
    enabled: false
  x509:
    clientCAFile: $STACK_PKI/ca.crt
authorization:
  mode: AlwaysAllow
evictionHard:
  memory.available: "50Mi"
  nodefs.available: "1%"
  nodefs.inodesFree: "1%"
  imagefs.available: "1%"
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
makeIPTablesUtilChains: false
syncFrequency: 10s
fileCheckFrequency: 20s
nodeStatusUpdateFrequency: 10s
EOF
}

up() {
  if alive kubelet && alive containerd && node_ready; then return 0; fi
  tools
  [ -n "$(env_get KUBECONFIG)" ] || die "kube-apiserver is not up (apiserver.sh up)"
  [ ${#SOCK} -lt 100 ] || die "$SOCK is too long for a unix socket; use a shorter RESPAWN_STACK_DIR"
  down_quietly
  mkdir -p "$NODE_DIR"
  make_cgroup_root
  write_containerd_config
  registry_hosts
  PATH="$CONTAINERD_BIN_DIR:$PATH" start_bg containerd "$CONTAINERD_BIN_DIR/containerd" --config "$NODE_DIR/containerd/config.toml"
  if ! wait_for containerd 30 ctr_ version; then tail_log containerd; die "containerd did not start"; fi
  ctr_ images ls -q 2>/dev/null | grep -qx "$PAUSE_IMAGE" ||
    ctr_ images import "$PAUSE_TAR" >>"$STACK_LOGS/containerd.log" 2>&1 ||
    die "cannot import the pause image $PAUSE_TAR (log: $STACK_LOGS/containerd.log)"
  local port healthz
  port="$(free_port)"; healthz="$(free_port)"
  write_kubelet_config "$port" "$healthz"
  start_bg kubelet "$KUBE_BIN_DIR/kubelet" --config "$NODE_DIR/kubelet-config.yaml" \
    --kubeconfig "$(env_get KUBECONFIG)" --root-dir "$NODE_DIR/kubelet" --cert-dir "$NODE_DIR/kubelet-pki" \
    --hostname-override "$NODE_NAME" --v 2
  if ! wait_for kubelet 60 node_ready; then tail_log kubelet; die "node $NODE_NAME did not become Ready"; fi
  env_set NODE_NAME "$NODE_NAME"
  env_set NODE_DIR "$NODE_DIR"
  env_set NODE_CGROUP_ROOT "$CGROUP_ROOT"
  env_set KUBELET_PORT "$port"
  env_set CONTAINERD_SOCKET "$SOCK"
  env_set KUBECTL "$KUBE_BIN_DIR/kubectl"
  env_set CRICTL "$CRICTL"
  log "node $NODE_NAME Ready (kubelet 127.0.0.1:$port, containerd $SOCK)"
}

# Removes this node's traces; safe when nothing runs. See the header for what is cleaned.
down_quietly() {
  [ -d "$NODE_DIR" ] || return 0
  stop_bg kubelet
  if alive containerd; then
    # Through the CRI, as the kubelet would: containers stopped, network torn down, netns and
    # mounts removed, sandboxes deleted.
    [ -n "${CRICTL:-}" ] || CRICTL="$(env_get CRICTL)"
    timeout 60 "$CRICTL" --runtime-endpoint "unix://$SOCK" --image-endpoint "unix://$SOCK" --timeout 30s \
      rmp --all --force >/dev/null 2>&1 || log "crictl rmp failed; cleaning up by hand"
  fi
  stop_bg containerd
  local pids i p m h
  for i in $(seq 1 50); do
    pids="$(node_pids | sort -u)"
    [ -n "$pids" ] || break
    for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
    sleep 0.1
  done
  for m in $(node_mounts); do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
  for i in $(seq 1 50); do
    for h in $(hierarchies); do
      [ ! -d "$h$CGROUP_ROOT" ] || find "$h$CGROUP_ROOT" -depth -type d -exec rmdir {} + 2>/dev/null || true
    done
    [ -z "$(leftover_cgroups)" ] && break
    sleep 0.1
  done
  [ ! -d "$LOG_LINKS" ] || find "$LOG_LINKS" -maxdepth 1 -type l -lname "$NODE_DIR/*" -delete
  # The kubelet's device-plugin socket has a fixed path: removed when no kubelet listens on it.
  if [ -S "$DEVICE_SOCKET" ] && ! ss -Hxl | grep -qF " $DEVICE_SOCKET "; then rm -f "$DEVICE_SOCKET"; fi
  rmdir "$LOG_LINKS" /run/containerd/s /run/containerd "${DEVICE_SOCKET%/*}" /var/lib/kubelet \
    /var/lib/cni/results /var/lib/cni 2>/dev/null || true
  # Everything but containerd's root (the image store, kept so the next start pulls nothing).
  if [ -z "$(node_mounts)" ]; then
    find "$NODE_DIR" -mindepth 1 -maxdepth 1 ! -name containerd -exec rm -rf --one-file-system {} +
    find "$NODE_DIR/containerd" -mindepth 1 -maxdepth 1 ! -name root -exec rm -rf --one-file-system {} + 2>/dev/null || true
  fi
}

leftover_cgroups() { local h; for h in $(hierarchies); do [ ! -d "$h$CGROUP_ROOT" ] || echo "$h$CGROUP_ROOT"; done; }

# What of this node is still on the host; exit 1 when anything is.
leftovers() {
  local out=() x
  for x in kubelet containerd; do alive "$x" && out+=("process: $x (pid $(cat "$STACK_PIDS/$x.pid"))"); done
  for x in $(node_pids | sort -u); do out+=("process: $x $(tr '\0' ' ' </proc/"$x"/cmdline 2>/dev/null | cut -c1-100)"); done
  for x in $(node_mounts); do out+=("mount: $x"); done
  for x in $(leftover_cgroups); do out+=("cgroup: $x"); done
  if [ -d "$LOG_LINKS" ]; then
    for x in $(find "$LOG_LINKS" -maxdepth 1 -type l -lname "$NODE_DIR/*"); do out+=("log link: $x"); done
  fi
  [ ${#out[@]} -gt 0 ] || return 0
  printf 'node leftover: %s\n' "${out[@]}"
  return 1
}

case "${1:-}" in
  up) up ;;
  down)
    down_quietly
    if ! leftovers >&2; then die "the node left the above behind"; fi
    ;;
  leftovers) leftovers ;;
  *) die "usage: node.sh up|down|leftovers" ;;
esac
