#!/usr/bin/env bash
# Installs everything the tests, benchmarks and the demo need on a fresh Debian machine.
# Idempotent: each step checks before it acts; slow builds are cached in $RESPAWN_CACHE.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export RESPAWN_CACHE="${RESPAWN_CACHE:-$HOME/.cache/respawn}"

# Debian packages. Add new ones here (one list, installed in one apt call).
APT_PACKAGES=(podman buildah runc skopeo uidmap etcd-server docker-registry apache2-utils
  tini catatonit dumb-init entr hyperfine musl-tools busybox-static jq curl openssl python3-yaml python3-venv iproute2
  qemu-user-static gcc-aarch64-linux-gnu # arm64: the supervisor's tests under qemu; the webhook's C code (ring, aws-lc)
  containernetworking-plugins) # the node's loopback CNI plugin (node.sh)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: apt-get install ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# podman on this machine: runc (crun fails on hybrid cgroups), cgroupfs, bounded ulimits.
conf=/etc/containers/containers.conf
if ! grep -q '^# respawn-managed' "$conf" 2>/dev/null; then
  mkdir -p /etc/containers
  cat >"$conf" <<'CONF'
# respawn-managed: written by e2e/stack/install-deps.sh
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
fi

# The static supervisor targets (aarch64 links with rust-lld, see the Makefile).
for t in x86_64-unknown-linux-musl aarch64-unknown-linux-musl; do
  rustup target list --installed | grep -qx "$t" || rustup target add "$t"
done

# Go-built tools (cached): the control plane, the node's kubelet, kubectl; containerd, ctr,
# crictl and the pause image (build-node.sh); helm.
"$here/build-kube.sh" kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl >/dev/null
"$here/build-node.sh" >/dev/null
if [ -x "$here/build-helm.sh" ]; then "$here/build-helm.sh" >/dev/null; fi
echo "install-deps: ok" >&2
