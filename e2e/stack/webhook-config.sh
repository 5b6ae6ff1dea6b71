#!/usr/bin/env bash
# Applies (server-side apply) the MutatingWebhookConfiguration `respawn-e2e` that points the stack's
# kube-apiserver at the host's respawn-webhook: two entries, namespace opt-in and pod opt-in, on the
# label respawn.dev/inject. System namespaces are deliberately NOT excluded by selector here, so the
# e2e suite proves the webhook's own guard (a production config excludes them by selector too).
# Like the chart, both entries skip pods labelled respawn.dev/injected (already injected).
# Usage: webhook-config.sh apply|delete|print
set -euo pipefail
source "$(dirname "$0")/lib.sh"
NAME=respawn-e2e

config_json() {
  local url="https://127.0.0.1:$(env_get WEBHOOK_PORT)/mutate" ca
  ca="$(base64 -w0 "$(env_get WEBHOOK_CA)")"
  jq -n --arg url "$url" --arg ca "$ca" --arg name "$NAME" '
    def hook($n; $ns; $obj): {
      name: $n, admissionReviewVersions: ["v1"], sideEffects: "None",
      failurePolicy: "Fail", reinvocationPolicy: "IfNeeded", timeoutSeconds: 10, matchPolicy: "Equivalent",
      clientConfig: {url: $url, caBundle: $ca},
      rules: [{operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"], scope: "Namespaced"}],
      namespaceSelector: {matchExpressions: [$ns]},
      objectSelector: {matchExpressions: [$obj, {key: "respawn.dev/injected", operator: "DoesNotExist"}]}
    };
    {apiVersion: "admissionregistration.k8s.io/v1", kind: "MutatingWebhookConfiguration",
     metadata: {name: $name, labels: {"app.kubernetes.io/part-of": "respawn-e2e"}},
     webhooks: [
       hook("namespace.inject.respawn.dev";
            {key: "respawn.dev/inject", operator: "In", values: ["enabled"]};
            {key: "respawn.dev/inject", operator: "NotIn", values: ["disabled"]}),
       hook("pod.inject.respawn.dev";
            {key: "respawn.dev/inject", operator: "NotIn", values: ["enabled"]};
            {key: "respawn.dev/inject", operator: "In", values: ["enabled"]})
     ]}'
}

api() {
  local method="$1" path="$2"; shift 2
  curl -fsS --cacert "$STACK_PKI/ca.crt" -H "Authorization: Bearer $(cut -d, -f1 "$STACK_PKI/tokens.csv")" \
    -X "$method" "https://127.0.0.1:$(env_get APISERVER_PORT)$path" "$@"
}
path=/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations

case "${1:-}" in
  apply)
    config_json | api PATCH "$path/$NAME?fieldManager=respawn-e2e&force=true" \
      -H "Content-Type: application/apply-patch+yaml" --data-binary @- >/dev/null
    # The apiserver picks configurations up through an informer: wait until a dry-run pod is
    # injected, so the first test cannot race it.
    probe='{"apiVersion":"v1","kind":"Pod","metadata":{"name":"respawn-e2e-probe","labels":{"respawn.dev/inject":"enabled"}},
      "spec":{"containers":[{"name":"probe","image":"probe.invalid/probe:v1","command":["/probe"]}]}}'
    for i in $(seq 1 150); do
      if api POST "/api/v1/namespaces/default/pods?dryRun=All" -H "Content-Type: application/json" -d "$probe" 2>/dev/null |
        jq -e '.metadata.annotations["respawn.dev/status"] == "injected"' >/dev/null; then
        log "MutatingWebhookConfiguration $NAME applied and in force"
        exit 0
      fi
      sleep 0.2
    done
    die "MutatingWebhookConfiguration $NAME applied, but a dry-run pod in namespace default is not injected after 30 s"
    ;;
  delete) api DELETE "$path/$NAME" >/dev/null 2>&1 || true ;;
  print) config_json ;;
  *) die "usage: webhook-config.sh apply|delete|print" ;;
esac
