//! The local e2e stack as the benchmark sees it (`e2e/stack/stack.sh up`, read through the e2e
//! crate's [`Stack`]): an admin client for setup and clean-up, the per-mode namespaces, and the
//! two webhook configurations (respawn's and the no-op's), built from one template that mirrors
//! the chart's `MutatingWebhookConfiguration`.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use respawn_e2e::{INJECTED_LABEL, Stack};
use serde_json::{Value, json};

use crate::modes::SkipInjected;

/// The namespace label that selects a mode's webhook configuration.
pub const MODE_LABEL: &str = "bench.respawn.dev/mode";
/// A pod label nobody sets: the configurations' pod-scoped entries mirror the chart's
/// "pod opts in" entry, so the apiserver evaluates as many entries per pod as in a real install.
pub const POD_MODE_LABEL: &str = "bench.respawn.dev/pod-mode";
/// Labels every object the benchmark creates, for clean-up.
pub const PART_OF: (&str, &str) = ("app.kubernetes.io/part-of", "respawn-bench");

/// The stack, with what the load generator needs.
pub struct Cluster {
    /// The e2e harness's view of the stack.
    pub stack: Stack,
    /// Admin client (setup, clean-up, dry runs).
    pub client: kube::Client,
    /// kube-apiserver's address.
    pub apiserver: SocketAddr,
    /// PEM of the CA that signed the apiserver's certificate.
    pub ca_pem: Vec<u8>,
    /// The admin bearer token.
    pub token: String,
}

impl Cluster {
    /// Reads the stack's `stack.env` (the stack must be up).
    pub async fn open(env_file: &Path) -> Result<Cluster> {
        let stack = Stack::load(env_file)?;
        let client = stack.client().await?;
        let apiserver = format!("127.0.0.1:{}", stack.var("APISERVER_PORT")?).parse()?;
        let ca_pem = std::fs::read(stack.dir.join("pki/ca.crt")).context("the stack's CA")?;
        let tokens =
            std::fs::read_to_string(stack.dir.join("pki/tokens.csv")).context("the stack's token")?;
        let token = tokens.split(',').next().unwrap_or_default().trim().to_string();
        Ok(Cluster {
            stack,
            client,
            apiserver,
            ca_pem,
            token,
        })
    }

    /// The pid of a stack component (`kube-apiserver`, `etcd`, `respawn-webhook`, ...).
    pub fn pid(&self, component: &str) -> Option<u32> {
        let text = std::fs::read_to_string(self.stack.dir.join(format!("pids/{component}.pid"))).ok()?;
        text.trim().parse().ok()
    }

    /// A raw request with a JSON body; the answer as JSON.
    pub async fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        let bytes = body.map(serde_json::to_vec).transpose()?.unwrap_or_default();
        let req = http::Request::builder()
            .method(method)
            .uri(path)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(bytes)?;
        self.client
            .request::<Value>(req)
            .await
            .with_context(|| format!("{method} {path}"))
    }

    /// Creates `pod` in `ns` (a dry run when `dry_run`: the whole admission chain runs, nothing
    /// is stored) and returns what the apiserver stored or would store.
    pub async fn create_pod(&self, ns: &str, pod: &Value, dry_run: bool) -> Result<Value> {
        let q = if dry_run { "?dryRun=All" } else { "" };
        self.request("POST", &format!("/api/v1/namespaces/{ns}/pods{q}"), Some(pod))
            .await
    }

    /// Creates namespace `name` labelled with `mode`, and its `default` ServiceAccount (the
    /// ServiceAccount admission plugin rejects pods until it exists).
    pub async fn create_namespace(&self, name: &str, mode: &str) -> Result<()> {
        let ns = json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {MODE_LABEL: mode, PART_OF.0: PART_OF.1}}});
        self.request("POST", "/api/v1/namespaces", Some(&ns)).await?;
        let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}});
        match self
            .request(
                "POST",
                &format!("/api/v1/namespaces/{name}/serviceaccounts"),
                Some(&sa),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_status(&e, 409) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Deletes the pods of every namespace in `names` (a collection delete, synchronous: pods
    /// without a node go at once), then the namespaces, and waits until the namespace controller
    /// has removed them all. Returns how long that took.
    pub async fn delete_namespaces(&self, names: &[String], timeout: Duration) -> Result<Duration> {
        let start = Instant::now();
        for ns in names {
            self.request("DELETE", &format!("/api/v1/namespaces/{ns}/pods"), None)
                .await?;
        }
        for ns in names {
            match self
                .request("DELETE", &format!("/api/v1/namespaces/{ns}"), None)
                .await
            {
                Ok(_) => {}
                Err(e) if is_status(&e, 404) => {}
                Err(e) => return Err(e),
            }
        }
        for ns in names {
            loop {
                match self
                    .request("GET", &format!("/api/v1/namespaces/{ns}"), None)
                    .await
                {
                    Err(e) if is_status(&e, 404) => break,
                    Err(e) => return Err(e),
                    Ok(_) if start.elapsed() > timeout => {
                        bail!("namespace {ns} still exists {timeout:?} after its deletion")
                    }
                    Ok(_) => tokio::time::sleep(Duration::from_millis(25)).await,
                }
            }
        }
        Ok(start.elapsed())
    }

    /// Namespaces left by an earlier, interrupted run (labelled part-of respawn-bench).
    pub async fn leftover_namespaces(&self) -> Result<Vec<String>> {
        let list = self
            .request(
                "GET",
                &format!("/api/v1/namespaces?labelSelector={}%3D{}", PART_OF.0, PART_OF.1),
                None,
            )
            .await?;
        Ok(list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|ns| ns["metadata"]["name"].as_str().map(str::to_string))
            .collect())
    }

    /// Creates (replacing an older one) configuration `name` sending pods of namespaces labelled
    /// `MODE_LABEL=mode` to `url`.
    pub async fn apply_webhook_config(
        &self,
        name: &str,
        mode: &str,
        url: &str,
        ca_pem: &str,
        skip: SkipInjected,
    ) -> Result<()> {
        self.delete_webhook_config(name).await;
        let config = webhook_config(name, mode, url, ca_pem, skip);
        self.request(
            "POST",
            "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
            Some(&config),
        )
        .await?;
        Ok(())
    }

    /// Deletes configuration `name` (best effort).
    pub async fn delete_webhook_config(&self, name: &str) {
        let path = format!("/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/{name}");
        let _ = self.request("DELETE", &path, None).await;
    }
}

/// True when `e` is the apiserver answering HTTP `code`.
pub fn is_status(e: &anyhow::Error, code: u16) -> bool {
    e.chain()
        .any(|c| matches!(c.downcast_ref::<kube::Error>(), Some(kube::Error::Api(s)) if s.code == code))
}

/// The chart's configuration (charts/respawn/templates/mutatingwebhookconfiguration.yaml with
/// its default values), pointed at `url` and opted into by the namespace label `MODE_LABEL=mode`
/// instead of `respawn.dev/inject=enabled`. One deliberate difference: `failurePolicy: Fail`
/// (the chart defaults to `Ignore`), so a webhook that fails fails the benchmark instead of
/// silently admitting plain pods. `skip` picks how injected pods are left out: the chart's
/// label (default), or for comparison its former CEL `matchConditions`, or nothing.
pub fn webhook_config(name: &str, mode: &str, url: &str, ca_pem: &str, skip: SkipInjected) -> Value {
    let excluded = json!({"key": "kubernetes.io/metadata.name", "operator": "NotIn",
        "values": ["kube-system", "kube-public", "kube-node-lease", "respawn-system"]});
    let not_injected = "!has(object.metadata.annotations) || \
        !('respawn.dev/status' in object.metadata.annotations) || \
        object.metadata.annotations['respawn.dev/status'] != 'injected'";
    let unlabelled = json!({"key": INJECTED_LABEL, "operator": "DoesNotExist"});
    let hook = |scope: &str, ns_op: &str, obj: Value| {
        let mut object = vec![obj];
        if skip == SkipInjected::Label {
            object.push(unlabelled.clone());
        }
        let mut hook = json!({
            "name": format!("{scope}.{mode}.bench.respawn.dev"),
            "admissionReviewVersions": ["v1"], "sideEffects": "None", "failurePolicy": "Fail",
            "timeoutSeconds": 10, "reinvocationPolicy": "IfNeeded", "matchPolicy": "Equivalent",
            "clientConfig": {"url": url, "caBundle": base64(ca_pem.as_bytes())},
            "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"],
                       "resources": ["pods"], "scope": "Namespaced"}],
            "namespaceSelector": {"matchExpressions": [excluded,
                {"key": MODE_LABEL, "operator": ns_op, "values": [mode]}]},
            "objectSelector": {"matchExpressions": object},
        });
        if skip == SkipInjected::Cel {
            hook["matchConditions"] = json!([{"name": "not-injected", "expression": not_injected}]);
        }
        hook
    };
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": name, "labels": {PART_OF.0: PART_OF.1}},
        "webhooks": [
            hook("namespace", "In", json!({"key": "respawn.dev/inject", "operator": "NotIn", "values": ["disabled"]})),
            hook("pod", "NotIn", json!({"key": POD_MODE_LABEL, "operator": "In", "values": [mode]})),
        ]
    })
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_selects_the_mode_namespace_and_mirrors_the_chart() {
        let c = webhook_config(
            "n",
            "noop",
            "https://127.0.0.1:1/mutate",
            "PEM",
            SkipInjected::Label,
        );
        let hooks = c["webhooks"].as_array().expect("webhooks");
        assert_eq!(hooks.len(), 2);
        assert_eq!(
            hooks[0]["namespaceSelector"]["matchExpressions"][1]["operator"],
            "In"
        );
        assert_eq!(
            hooks[0]["namespaceSelector"]["matchExpressions"][1]["values"][0],
            "noop"
        );
        assert_eq!(
            hooks[1]["objectSelector"]["matchExpressions"][0]["key"],
            POD_MODE_LABEL
        );
        assert_eq!(
            hooks[1]["objectSelector"]["matchExpressions"][1],
            json!({"key": INJECTED_LABEL, "operator": "DoesNotExist"})
        );
        assert!(hooks[0].get("matchConditions").is_none());
        let cel = webhook_config(
            "n",
            "noop",
            "https://127.0.0.1:1/mutate",
            "PEM",
            SkipInjected::Cel,
        );
        assert_eq!(
            cel["webhooks"][0]["objectSelector"]["matchExpressions"]
                .as_array()
                .map(Vec::len),
            Some(1)
        );
        assert_eq!(cel["webhooks"][0]["matchConditions"][0]["name"], "not-injected");
        assert_eq!(hooks[0]["failurePolicy"], "Fail");
        assert_eq!(hooks[0]["clientConfig"]["caBundle"], "UEVN");
    }
}
