//! Creating objects with the raw HTTP response in hand: the status code, the stored object or the
//! apiserver's error `Status`, and the `Warning` headers (admission webhooks' warnings reach clients
//! only as headers, which `kube::Api` does not expose).

use anyhow::{Context, Result};
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::PostParams;
use kube::client::Body;
use serde_json::Value;

/// What the apiserver answered to a create.
#[derive(Debug, Clone)]
pub struct Admission {
    /// HTTP status code (201 when stored).
    pub code: u16,
    /// The response body: the stored object, or a `Status`.
    pub body: Value,
    /// The `Warning` header texts, unquoted.
    pub warnings: Vec<String>,
}

impl Admission {
    /// The stored pod; fails with the apiserver's message when the create was rejected.
    pub fn pod(&self) -> Result<Pod> {
        anyhow::ensure!(
            self.code == 201,
            "pod not created: HTTP {}: {}",
            self.code,
            self.message()
        );
        Ok(serde_json::from_value(self.body.clone())?)
    }

    /// The `message` of a rejection `Status` (empty when there is none).
    pub fn message(&self) -> String {
        self.body["message"].as_str().unwrap_or_default().to_string()
    }
}

/// POSTs `pod` to namespace `ns` (dry run when `dry_run`), keeping status, body and warnings.
pub async fn create_pod(client: &Client, ns: &str, pod: &Pod, dry_run: bool) -> Result<Admission> {
    let request = kube::core::Request::new(format!("/api/v1/namespaces/{ns}/pods"));
    let pp = PostParams {
        dry_run,
        ..Default::default()
    };
    let req = request.create(&pp, serde_json::to_vec(pod)?)?;
    let response = client
        .send(req.map(Body::from))
        .await
        .context("sending the pod create")?;
    let code = response.status().as_u16();
    let warnings = response
        .headers()
        .get_all("warning")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(unquote_warning)
        .collect();
    let bytes = response
        .into_body()
        .collect_bytes()
        .await
        .context("reading the create response")?;
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    Ok(Admission { code, body, warnings })
}

/// `299 - "text"` → `text` (RFC 7234 warn-code, agent, quoted text).
fn unquote_warning(header: &str) -> String {
    let text = header.splitn(3, ' ').nth(2).unwrap_or(header);
    let text = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    text.replace("\\\"", "\"")
}

#[cfg(test)]
mod tests {
    use super::unquote_warning;

    #[test]
    fn warning_header_is_unquoted() {
        assert_eq!(
            unquote_warning(r#"299 - "lookup of x failed: \"y\"""#),
            r#"lookup of x failed: "y""#
        );
        assert_eq!(unquote_warning("plain"), "plain");
    }
}
