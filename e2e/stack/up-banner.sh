#!/usr/bin/env bash
# What `make up` prints once the stack runs: where things are, what to try, and — last, to
# paste into a shell — the KUBECONFIG and PATH lines (also the last lines of `stack.sh env`).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
[ -f "$STACK_ENV" ] || die "the stack is not up (make up)"
reg="127.0.0.1:$(env_get REGISTRY_PORT)"
cat <<EOF

The local stack runs (state and logs in $RESPAWN_STACK_DIR; \`make down\` stops it):
  kube-apiserver    https://127.0.0.1:$(env_get APISERVER_PORT)
  node              $(env_get NODE_NAME) (kubelet + containerd); pods get their own network namespace with loopback only
  registry          $reg (plain HTTP: push with --tls-verify=false)
  respawn-webhook   https://127.0.0.1:$(env_get WEBHOOK_PORT)/mutate, injecting $(env_get SUPERVISOR_IMAGE)

Try it:
  kubectl get nodes
  kubectl create namespace dev && kubectl label namespace dev respawn.dev/inject=enabled
  kubectl -n dev run app --image=$reg/respawn-test/oci:v1
  kubectl -n dev wait --for=condition=Ready pod/app
  kubectl -n dev exec app -- /respawn/respawn restart
  kubectl -n dev exec app -- /respawn/respawn status

Paste into your shell:
EOF
"$here/stack.sh" env | tail -2
