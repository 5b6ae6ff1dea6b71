#!/usr/bin/env bash
# `make helm-check` (part of `make test`): the chart against helm and the real local kube-apiserver.
#   1. helm lint --strict, for every TLS mode;
#   2. helm template, with assertions on what each mode renders, and bad values failing clearly;
#   3. manifests/ is what render-manifests.sh renders now (stale manifests fail);
#   4. against the local kube-apiserver (e2e/stack, or $KUBECONFIG when set):
#      helm install --dry-run=server (OpenAPI validation, lookup), a server-side dry-run apply of
#      every rendered object (admission and API validation: selectors, CEL matchConditions, ...),
#      and a real install + upgrade proving the helm-mode certificate survives an upgrade.
# Every failure prints what was expected; the script exits non-zero on the first one.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
CHART="$repo/charts/respawn"
HELM="$("$here/build-helm.sh")"
work="$(mktemp -d)"
ns=""
STARTED_STACK=""
cleanup() {
  if [ -n "$ns" ]; then
    KUBECONFIG="$KCFG" "$HELM" uninstall "$ns" -n "$ns" >/dev/null 2>&1 || true
    api DELETE "/api/v1/namespaces/$ns" >/dev/null 2>&1 || true
  fi
  if [ -n "${STARTED_STACK:-}" ]; then "$here/apiserver.sh" down; "$here/etcd.sh" down; fi 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
start=$SECONDS
say() { echo "helm-check: $*" >&2; }
fail() { echo "helm-check: FAIL: $*" >&2; exit 1; }
pass() { echo "helm-check: ok   $*" >&2; }

# to_json FILE: the YAML stream as a JSON array of objects (empty documents dropped).
to_json() { python3 -c 'import sys,yaml,json; json.dump([d for d in yaml.safe_load_all(open(sys.argv[1])) if d], sys.stdout)' "$1"; }

# expect JSONFILE JQ-EXPR WHAT: fails unless the jq expression is true.
expect() {
  jq -e "$2" "$1" >/dev/null || { jq -c "$2" "$1" >&2 || true; fail "$3"; }
  pass "$3"
}

# render NAME ARGS...: helm template into $work/NAME.yaml and $work/NAME.json.
render() {
  local name="$1"; shift
  "$HELM" template hc "$CHART" --namespace respawn-hc "$@" >"$work/$name.yaml" || fail "helm template ($name)"
  to_json "$work/$name.yaml" >"$work/$name.json"
}

# Test material for tls.mode=provided: a CA and a serving certificate signed by it.
make_certs() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=hc-ca \
    -keyout "$work/ca.key" -out "$work/ca.crt" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=hc.respawn-hc.svc \
    -addext subjectAltName=DNS:hc-respawn.respawn-hc.svc -keyout "$work/tls.key" -out "$work/tls.csr" 2>/dev/null
  openssl x509 -req -in "$work/tls.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial -days 2 \
    -copy_extensions copy -out "$work/tls.crt" 2>/dev/null
}
PROVIDED=(--set tls.mode=provided --set-file tls.caBundle="$work/ca.crt"
  --set-file tls.cert="$work/tls.crt" --set-file tls.key="$work/tls.key")

lint() {
  "$HELM" lint --strict "$CHART" >"$work/lint.out" 2>&1 || { cat "$work/lint.out" >&2; fail "helm lint (defaults)"; }
  "$HELM" lint --strict "$CHART" --set tls.mode=certManager >/dev/null 2>&1 || fail "helm lint (certManager)"
  "$HELM" lint --strict "$CHART" "${PROVIDED[@]}" >/dev/null 2>&1 || fail "helm lint (provided)"
  pass "helm lint --strict: defaults, certManager, provided"
}

# Assertions shared by every mode: the Deployment and the webhook configuration.
common_checks() {
  local j="$work/$1.json" d='.[] | select(.kind=="Deployment")' m='.[] | select(.kind=="MutatingWebhookConfiguration")'
  expect "$j" "[$d | .spec.replicas] == [2]" "$1: Deployment with 2 replicas"
  expect "$j" "$d | .spec.template.spec.securityContext.runAsNonRoot and .spec.template.spec.securityContext.runAsUser == 65532" "$1: non-root 65532"
  expect "$j" "$d | .spec.template.spec.containers[0].securityContext | .readOnlyRootFilesystem and .allowPrivilegeEscalation == false and .capabilities.drop == [\"ALL\"]" "$1: read-only root, no privilege escalation, no capabilities"
  expect "$j" "$d | .spec.template.spec.containers[0] | .resources.requests.cpu and .resources.limits.memory and .readinessProbe.httpGet.port == \"health\" and .livenessProbe.httpGet.path == \"/healthz\"" "$1: resources and probes on the health port"
  expect "$j" "$d | .spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey == \"kubernetes.io/hostname\"" "$1: anti-affinity on hostname"
  expect "$j" "$d | .spec.template.metadata.labels[\"respawn.dev/inject\"] == \"disabled\"" "$1: the webhook's own pods opt out"
  expect "$j" "[.[] | select(.kind==\"PodDisruptionBudget\") | .spec.minAvailable] == [1]" "$1: PodDisruptionBudget minAvailable 1"
  expect "$j" "[.[] | select(.kind==\"ClusterRole\") | .rules[] | .verbs] == [[\"get\"]]" "$1: RBAC is get only"
  expect "$j" "[$m | .webhooks[] | .name] == [\"namespace.inject.respawn.dev\", \"pod.inject.respawn.dev\"]" "$1: namespace and pod opt-in webhooks"
  expect "$j" "[$m | .webhooks[] | .reinvocationPolicy == \"IfNeeded\" and .sideEffects == \"None\" and .failurePolicy == \"Ignore\" and .timeoutSeconds == 10] | all" "$1: IfNeeded, sideEffects None, failurePolicy Ignore, timeout 10"
  expect "$j" "[$m | .webhooks[] | .namespaceSelector.matchExpressions[0].values | index(\"kube-system\") and index(\"respawn-hc\")] | all" "$1: system and release namespaces excluded"
  expect "$j" "[$m | .webhooks[] | (.matchConditions == null) and (.objectSelector.matchExpressions | any(.[]; . == {key: \"respawn.dev/injected\", operator: \"DoesNotExist\"}))] | all" "$1: already-injected pods skipped by objectSelector (no CEL matchConditions)"
  expect "$j" "$d | .spec.template.spec.containers[0].args | index(\"--supervisor-image=respawn-dev/respawn-supervisor:0.1.0\")" "$1: supervisor image passed to the webhook"
}

templates() {
  render auto
  common_checks auto
  expect "$work/auto.json" '[.[] | select(.kind=="Secret") | .data["ca.crt"]] | length == 1' "auto without cert-manager: helm mode, one generated Secret"
  expect "$work/auto.json" '(.[] | select(.kind=="Secret") | .data["ca.crt"]) as $ca | [.[] | select(.kind=="MutatingWebhookConfiguration") | .webhooks[].clientConfig.caBundle == $ca] | all' "helm mode: caBundle is the Secret's CA"
  render cm --set tls.mode=certManager
  common_checks cm
  expect "$work/cm.json" '[.[] | select(.kind=="Secret")] | length == 0' "certManager: no Secret rendered"
  expect "$work/cm.json" '[.[] | select(.kind=="Certificate") | .spec.secretName] == ["hc-respawn-ca", "hc-respawn-tls"]' "certManager: CA and serving Certificates"
  expect "$work/cm.json" '.[] | select(.kind=="MutatingWebhookConfiguration") | .metadata.annotations["cert-manager.io/inject-ca-from"] == "respawn-hc/hc-respawn"' "certManager: inject-ca-from annotation"
  render cmauto --api-versions cert-manager.io/v1/Certificate
  cmp -s <(grep -v '^#' "$work/cm.yaml") <(grep -v '^#' "$work/cmauto.yaml") || fail "auto with cert-manager present renders certManager mode"
  pass "auto with cert-manager present renders certManager mode"
  render cmissuer --set tls.mode=certManager --set tls.certManager.issuerRef.kind=ClusterIssuer --set tls.certManager.issuerRef.name=corp
  expect "$work/cmissuer.json" '[.[] | select(.kind=="Certificate") | .spec.issuerRef.name] == ["corp"]' "certManager: an existing issuer replaces the CA chain"
  render provided "${PROVIDED[@]}"
  common_checks provided
  expect "$work/provided.json" "(.[] | select(.kind==\"MutatingWebhookConfiguration\") | .webhooks[0].clientConfig.caBundle) == \"$(base64 -w0 "$work/ca.crt")\"" "provided: caBundle is the given CA"
  render existing --set tls.mode=provided --set-file tls.caBundle="$work/ca.crt" --set tls.existingSecret=corp-tls
  expect "$work/existing.json" '[.[] | select(.kind=="Secret")] == [] and (.[] | select(.kind=="Deployment") | .spec.template.spec.volumes[0].secret.secretName) == "corp-tls"' "provided: existingSecret mounted, no Secret rendered"
  render opts --set webhook.onLookupFailure=deny --set 'webhook.insecureRegistries={reg.local:5000}' --set admission.failurePolicy=Fail --set imageRegistry=reg.local:5000
  expect "$work/opts.json" '.[] | select(.kind=="Deployment") | .spec.template.spec.containers[0] | (.args | index("--on-lookup-failure=deny") and index("--insecure-registry=reg.local:5000") and index("--supervisor-image=reg.local:5000/respawn-dev/respawn-supervisor:0.1.0")) and .image == "reg.local:5000/respawn-dev/respawn-webhook:0.1.0"' "values reach the webhook's flags and images"
  expect "$work/opts.json" '[.[] | select(.kind=="MutatingWebhookConfiguration") | .webhooks[].failurePolicy] == ["Fail", "Fail"]' "failurePolicy value"
  render noskip --set admission.skipInjected=false
  expect "$work/noskip.json" '[.[] | select(.kind=="MutatingWebhookConfiguration") | .webhooks[].objectSelector.matchExpressions[].key] | index("respawn.dev/injected") == null' "admission.skipInjected=false: injected pods still reach the webhook (its own guard skips them)"
  render defs --set supervisor.defaults.on-exit=wait --set supervisor.defaults.stop-timeout=30s
  expect "$work/defs.json" '.[] | select(.kind=="Deployment") | .spec.template.spec.containers[0].args | index("--default-setting=on-exit=wait") and index("--default-setting=stop-timeout=30s")' "supervisor.defaults reach --default-setting"
  render delivery --set webhook.delivery=image-volume --set 'webhook.supervisorPlatforms={linux/amd64}'
  expect "$work/delivery.json" '.[] | select(.kind=="Deployment") | .spec.template.spec.containers[0].args | index("--delivery=image-volume") and index("--supervisor-platforms=linux/amd64")' "webhook.delivery and webhook.supervisorPlatforms reach the flags"
  expect "$work/opts.json" '.[] | select(.kind=="Deployment") | .spec.template.spec.containers[0].args | index("--delivery=init-container") and index("--supervisor-platforms=linux/amd64,linux/arm64")' "delivery defaults to init-container, both supervisor platforms"
  # Bad values fail with a message naming the problem.
  local bad
  bad="$("$HELM" template hc "$CHART" --set tls.mode=bogus 2>&1 >/dev/null || true)"
  grep -q 'mode' <<<"$bad" && grep -q 'auto' <<<"$bad" || fail "tls.mode=bogus should fail clearly, got: $bad"
  bad="$("$HELM" template hc "$CHART" --set tls.mode=provided 2>&1 >/dev/null || true)"
  grep -q 'tls.mode=provided needs' <<<"$bad" || fail "provided without certificates should fail clearly, got: $bad"
  bad="$("$HELM" template hc "$CHART" --set webhook.onLookupFailure=maybe 2>&1 >/dev/null || true)"
  grep -q 'onLookupFailure' <<<"$bad" || fail "onLookupFailure=maybe should fail clearly, got: $bad"
  bad="$("$HELM" template hc "$CHART" --set supervisor.defaults.colour=blue 2>&1 >/dev/null || true)"
  grep -q 'colour' <<<"$bad" || fail "supervisor.defaults.colour should fail clearly, got: $bad"
  bad="$("$HELM" template hc "$CHART" --set webhook.delivery=copy 2>&1 >/dev/null || true)"
  grep -q 'delivery' <<<"$bad" || fail "webhook.delivery=copy should fail clearly, got: $bad"
  pass "bad values fail with clear messages"
}

manifests_fresh() {
  "$here/render-manifests.sh" "$work/manifests" >/dev/null
  diff -u "$repo/manifests/respawn.yaml" "$work/manifests/respawn.yaml" >"$work/manifests.diff" || {
    head -40 "$work/manifests.diff" >&2; fail "manifests/ is stale: run make manifests and commit it"; }
  pass "manifests/ matches the chart"
}

source "$here/helm-server.sh"

say "helm $("$HELM" version --template '{{.Version}}' 2>/dev/null), chart $CHART"
make_certs
lint
templates
manifests_fresh
[ -n "${HELM_CHECK_NO_SERVER:-}" ] || server_checks
say "all checks passed in $((SECONDS - start)) s"
