//! Extra MutatingWebhookConfigurations created by single tests (a dead endpoint for the
//! failure-policy cases, the test webhook for reinvocation). Each is scoped by an objectSelector on a
//! test-specific label so concurrent tests never see it, and deleted when the test ends.

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use base64::Engine;
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use kube::api::{DeleteParams, PostParams};
use kube::{Api, Client};
use serde_json::{Value, json};

/// The label that scopes a test's own webhook configuration to its pods.
pub const CASE_LABEL: &str = "e2e.respawn.dev/case";

/// One webhook entry of a test configuration.
#[derive(Debug, Clone)]
pub struct Hook {
    /// Webhook name (a DNS name, unique within the configuration).
    pub name: String,
    /// `clientConfig.url`.
    pub url: String,
    /// PEM for `caBundle`.
    pub ca_pem: String,
    /// `Fail` or `Ignore`.
    pub failure_policy: &'static str,
    /// `Never` or `IfNeeded`.
    pub reinvocation: &'static str,
}

impl Hook {
    fn to_json(&self, case: &str) -> Value {
        json!({
            "name": self.name,
            "admissionReviewVersions": ["v1"], "sideEffects": "None", "timeoutSeconds": 5,
            "failurePolicy": self.failure_policy, "reinvocationPolicy": self.reinvocation,
            "clientConfig": {"url": self.url, "caBundle": base64::engine::general_purpose::STANDARD.encode(&self.ca_pem)},
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"], "scope": "Namespaced"}],
            "objectSelector": {"matchLabels": {CASE_LABEL: case}}
        })
    }
}

/// Creates configuration `name` holding `hooks` for pods labelled `CASE_LABEL=case`, runs `body`,
/// and deletes the configuration whatever `body` returned.
pub async fn with_config<F, Fut>(
    client: &Client,
    name: &str,
    case: &str,
    hooks: &[Hook],
    body: F,
) -> Result<()>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let api: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
    let config: MutatingWebhookConfiguration = serde_json::from_value(json!({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": "respawn-e2e"}},
        "webhooks": hooks.iter().map(|h| h.to_json(case)).collect::<Vec<_>>()
    }))?;
    let _ = api.delete(name, &DeleteParams::default()).await;
    api.create(&PostParams::default(), &config).await?;
    let result = body().await;
    let _ = api.delete(name, &DeleteParams::default()).await;
    result
}

/// Retries `probe` every 100 ms until it returns `Ok(true)` or `timeout` passes. Webhook
/// configurations reach the apiserver's admission chain through an informer, a few ms after the
/// create returns; tests wait for the effect instead of sleeping.
pub async fn eventually<F, Fut>(what: &str, timeout: Duration, mut probe: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool>>,
{
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < timeout {
        match probe().await {
            Ok(true) => return Ok(()),
            Ok(false) => last = "condition false".into(),
            Err(e) => last = format!("{e:#}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{what}: not true after {timeout:?} (last: {last})")
}

/// A 127.0.0.1 URL on which nothing listens (a port bound and released again).
pub fn dead_url() -> Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    drop(listener);
    Ok(format!("https://127.0.0.1:{port}/mutate"))
}
