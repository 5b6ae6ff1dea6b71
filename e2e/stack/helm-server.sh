# The server half of helm-check.sh (sourced): the chart against the local kube-apiserver.
# Uses the e2e stack (etcd + kube-apiserver; no registry, no webhook needed), started if not up.
# Expects from helm-check.sh: HELM, CHART, work, here, ns (set here), expect/pass/fail/to_json.

# api METHOD PATH [CURL ARGS...]: an authenticated request to the stack's kube-apiserver.
api() {
  local method="$1" path="$2"; shift 2
  curl -sS --cacert "$STACK_PKI/ca.crt" -H "Authorization: Bearer $(cut -d, -f1 "$STACK_PKI/tokens.csv")" \
    -X "$method" "https://127.0.0.1:$(env_get APISERVER_PORT)$path" "$@"
}

# api_paths JSONFILE NAMESPACE: one line per object: "<collection path>/<name><TAB><object JSON>".
api_paths() {
  python3 - "$1" "$2" <<'PY'
import json, sys
cluster = {"Namespace", "ClusterRole", "ClusterRoleBinding", "MutatingWebhookConfiguration",
           "ValidatingWebhookConfiguration", "CustomResourceDefinition"}
for o in json.load(open(sys.argv[1])):
    group, _, version = o["apiVersion"].rpartition("/")
    base = f"/apis/{group}/{version}" if group else f"/api/{version}"
    kind = o["kind"]
    ns = "" if kind in cluster else f"/namespaces/{o['metadata'].get('namespace') or sys.argv[2]}"
    print(f"{base}{ns}/{kind.lower()}s/{o['metadata']['name']}\t{json.dumps(o)}")
PY
}

# dry_run_apply NAME: server-side apply with dryRun=All of every object in $work/NAME.json; the
# apiserver validates each object fully (schema, selectors, CEL) and persists nothing.
dry_run_apply() {
  local name="$1" path obj code n=0
  while IFS=$'\t' read -r path obj; do
    code="$(api PATCH "$path?dryRun=All&fieldValidation=Strict&fieldManager=helm-check&force=true" -o "$work/resp.json" -w '%{http_code}' \
      -H 'Content-Type: application/apply-patch+yaml' --data-binary "$obj")"
    case "$code" in
      200|201) n=$((n + 1)) ;;
      *) jq -r '.message // .' "$work/resp.json" >&2; fail "$name: server-side dry-run of $path: HTTP $code" ;;
    esac
  done < <(api_paths "$work/$name.json" "$ns")
  pass "$name: server-side dry-run apply of $n objects accepted by kube-apiserver"
}

# secret_ca: the ca.crt of the release's helm-mode Secret, as stored in the apiserver.
secret_ca() { api GET "/api/v1/namespaces/$ns/secrets/$ns-respawn-tls" | jq -r '.data["ca.crt"] // empty'; }
webhook_cas() {
  api GET "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/$ns-respawn" |
    jq -r '[.webhooks[].clientConfig.caBundle] | unique | join(",")'
}

# webhook_accepts_args: the real respawn-webhook starts with the flags the chart renders (ports
# moved to free loopback ports, the Secret's files replaced by the test certificates) and
# becomes ready: the chart and the binary's CLI cannot drift apart unnoticed.
webhook_accepts_args() {
  local bin="" b hp mp pid i args=()
  for b in "$repo/target/release/respawn-webhook" "$repo/target/debug/respawn-webhook"; do
    [ -x "$b" ] && { bin="$b"; break; }
  done
  if [ -z "$bin" ]; then
    say "building respawn-webhook to check the chart's flags"
    (cd "$repo" && cargo build -q -p respawn-webhook) || fail "cargo build -p respawn-webhook"
    bin="$repo/target/debug/respawn-webhook"
  fi
  hp="$(free_port)"; mp="$(free_port)"
  mapfile -t args < <(jq -r '.[] | select(.kind=="Deployment") | .spec.template.spec.containers[0].args[]' "$work/srv-provided.json" |
    sed "s|^--listen=.*|--listen=127.0.0.1:$hp|; s|^--metrics-listen=.*|--metrics-listen=127.0.0.1:$mp|;
         s|^--tls-cert=.*|--tls-cert=$work/tls.crt|; s|^--tls-key=.*|--tls-key=$work/tls.key|")
  POD_NAMESPACE="$ns" KUBECONFIG="$KCFG" RUST_LOG=warn "$bin" "${args[@]}" >"$work/webhook.log" 2>&1 &
  pid=$!
  for i in $(seq 1 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$mp/readyz" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if ! curl -fsS -o /dev/null "http://127.0.0.1:$mp/readyz" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    cat "$work/webhook.log" >&2
    fail "respawn-webhook did not become ready with the chart's flags: ${args[*]}"
  fi
  kill "$pid"; wait "$pid" 2>/dev/null || true
  pass "respawn-webhook ($(basename "$(dirname "$bin")")) starts and is ready with the chart's flags"
}

# cert_manager_crds: installs cert-manager's Certificate and Issuer CRDs (from the Go module
# github.com/cert-manager/cert-manager, pinned) so certManager-mode objects are validated by the
# apiserver against their real schemas. No cert-manager controller runs.
CERT_MANAGER_VERSION="${CERT_MANAGER_VERSION:-v1.21.2}"
cert_manager_crds() {
  local dir crd name
  dir="$(go mod download -json "github.com/cert-manager/cert-manager@$CERT_MANAGER_VERSION" | jq -r '.Dir // empty')"
  [ -n "$dir" ] && [ -d "$dir/deploy/crds" ] || fail "cert-manager $CERT_MANAGER_VERSION CRDs not found via the Go module proxy"
  for crd in certificates issuers; do
    name="$crd.cert-manager.io"
    python3 -c 'import sys,yaml,json; print(json.dumps(next(d for d in yaml.safe_load_all(open(sys.argv[1])) if d)))' \
      "$dir/deploy/crds/cert-manager.io_$crd.yaml" >"$work/crd.json"
    api PATCH "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/$name?fieldManager=helm-check&force=true" \
      -H 'Content-Type: application/apply-patch+yaml' --data-binary @"$work/crd.json" -o /dev/null -f ||
      fail "installing CRD $name"
    wait_for "$name" 30 sh -c "curl -sS --cacert '$STACK_PKI/ca.crt' -H 'Authorization: Bearer $(cut -d, -f1 "$STACK_PKI/tokens.csv")' \
      https://127.0.0.1:$(env_get APISERVER_PORT)/apis/apiextensions.k8s.io/v1/customresourcedefinitions/$name |
      jq -e '.status.conditions[] | select(.type==\"Established\" and .status==\"True\")'" || fail "CRD $name not established"
  done
  # Discovery must list the new kinds before they can be applied.
  wait_for "cert-manager.io/v1" 30 sh -c "curl -fsS --cacert '$STACK_PKI/ca.crt' -H 'Authorization: Bearer $(cut -d, -f1 "$STACK_PKI/tokens.csv")' \
    https://127.0.0.1:$(env_get APISERVER_PORT)/apis/cert-manager.io/v1 | jq -e '[.resources[].kind] | index(\"Issuer\")'" ||
    fail "cert-manager.io/v1 not served"
  pass "cert-manager $CERT_MANAGER_VERSION Certificate and Issuer CRDs installed (schemas only)"
}

server_checks() {
  source "$here/lib.sh"
  # Only etcd and kube-apiserver are needed: started (idempotently, under the stack's lock) in the
  # shared stack directory, where `make e2e` finds and reuses them.
  stack_dirs
  # Stop at exit what this run started; leave a stack that was already up alone.
  if ! alive kube-apiserver; then STARTED_STACK=1; fi
  flock -o "$RESPAWN_STACK_DIR/.lock" bash -c '"$1/etcd.sh" up && "$1/apiserver.sh" up' _ "$here" 2>"$work/stack.log" ||
    { cat "$work/stack.log" >&2; fail "the local stack (etcd, kube-apiserver) did not start"; }
  KCFG="$(env_get KUBECONFIG)"
  [ -n "$KCFG" ] || fail "the stack did not record a KUBECONFIG"
  ns="hc-$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  # The label is private to this run: the installed webhook configuration never matches a pod of
  # another test sharing this apiserver.
  local label=(--set "admission.label=helm-check.respawn.dev/$ns" --set tls.mode=helm)
  # Pod Security "restricted" enforced, as manifests/ sets it for respawn-system.
  api POST /api/v1/namespaces -H 'Content-Type: application/json' -o /dev/null -d "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",
    \"metadata\":{\"name\":\"$ns\",\"labels\":{\"pod-security.kubernetes.io/enforce\":\"restricted\"}}}" ||
    fail "creating namespace $ns"

  KUBECONFIG="$KCFG" "$HELM" install "$ns" "$CHART" -n "$ns" --dry-run=server "${label[@]}" >"$work/dry.out" 2>&1 ||
    { cat "$work/dry.out" >&2; fail "helm install --dry-run=server"; }
  pass "helm install --dry-run=server (OpenAPI validation, lookup against kube-apiserver)"

  "$HELM" template "$ns" "$CHART" -n "$ns" "${label[@]}" >"$work/srv-helm.yaml"
  to_json "$work/srv-helm.yaml" >"$work/srv-helm.json"
  dry_run_apply srv-helm
  "$HELM" template "$ns" "$CHART" -n "$ns" "${label[@]}" "${PROVIDED[@]}" >"$work/srv-provided.yaml"
  to_json "$work/srv-provided.yaml" >"$work/srv-provided.json"
  dry_run_apply srv-provided
  webhook_accepts_args
  # certManager mode and manifests/ (cert-manager objects included), against cert-manager's CRDs.
  cert_manager_crds
  "$HELM" template "$ns" "$CHART" -n "$ns" "${label[@]}" --set tls.mode=certManager >"$work/srv-cm.yaml"
  to_json "$work/srv-cm.yaml" >"$work/srv-cm.json"
  dry_run_apply srv-cm
  sed "s/respawn-system/$ns/g; s/name: respawn\$/name: $ns-m/; s/name: respawn-/name: $ns-m-/; s#respawn-system/respawn#$ns/$ns-m#" \
    "$repo/manifests/respawn.yaml" >"$work/srv-manifests.yaml"
  to_json "$work/srv-manifests.yaml" | jq '[.[] | select(.kind != "Namespace")]' >"$work/srv-manifests.json"
  dry_run_apply srv-manifests

  # A real install and upgrade: helm mode must keep its CA (lookup) so the caBundle stays valid.
  KUBECONFIG="$KCFG" "$HELM" install "$ns" "$CHART" -n "$ns" "${label[@]}" >"$work/install.out" 2>&1 ||
    { cat "$work/install.out" >&2; fail "helm install"; }
  local ca1 ca2
  ca1="$(secret_ca)"
  [ -n "$ca1" ] && [ "$(webhook_cas)" = "$ca1" ] || fail "after install the caBundle is not the Secret's CA"
  pass "helm install: Secret and caBundle agree"
  # The webhook's pod, as its ReplicaSet would create it (its ServiceAccount now exists), is
  # admitted in a namespace enforcing Pod Security "restricted".
  jq '[.[] | select(.kind=="Deployment") | {apiVersion: "v1", kind: "Pod",
        metadata: (.spec.template.metadata + {name: "pss-check"}), spec: .spec.template.spec}]' \
    "$work/srv-helm.json" >"$work/srv-pod.json"
  dry_run_apply srv-pod
  KUBECONFIG="$KCFG" "$HELM" upgrade "$ns" "$CHART" -n "$ns" "${label[@]}" --set webhook.logLevel=debug >"$work/upgrade.out" 2>&1 ||
    { cat "$work/upgrade.out" >&2; fail "helm upgrade"; }
  ca2="$(secret_ca)"
  [ "$ca2" = "$ca1" ] && [ "$(webhook_cas)" = "$ca1" ] || fail "helm upgrade changed the generated CA (lookup did not keep it)"
  pass "helm upgrade keeps the generated CA and caBundle"
  KUBECONFIG="$KCFG" "$HELM" uninstall "$ns" -n "$ns" >/dev/null 2>&1 || fail "helm uninstall"
  [ "$(api GET "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/$ns-respawn" -o /dev/null -w '%{http_code}')" = 404 ] ||
    fail "helm uninstall left the MutatingWebhookConfiguration behind"
  pass "helm uninstall removes the webhook configuration"
}
