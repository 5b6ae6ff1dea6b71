//! A tiny second mutating webhook (axum + rustls on 127.0.0.1, its own throw-away CA) that adds the
//! label `e2e.respawn.dev/touched=true` to every pod it is sent. Used to force a reinvocation of
//! respawn-webhook and to find out which `response.patch` wire forms the real apiserver accepts.

use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use axum::{Json, Router, extract::State, routing::post};
use axum_server::{Handle, tls_rustls::RustlsConfig};
use base64::Engine;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use serde_json::{Value, json};

/// The label the test webhook adds.
pub const TOUCHED_LABEL: &str = "e2e.respawn.dev/touched";

/// How the test webhook encodes `response.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchForm {
    /// A base64 string: the documented JSON form of the Go `[]byte` field.
    Base64,
    /// A JSON array of byte values: what kube-core's `AdmissionResponse` emits (kube-rs#1781).
    NumberArray,
}

/// A running test webhook; stops when dropped.
pub struct TestHook {
    /// `https://127.0.0.1:PORT/mutate`.
    pub url: String,
    /// PEM of the CA that signed its serving certificate (for `caBundle`).
    pub ca_pem: String,
    /// Every `request.object` it was sent, in order.
    pub seen: Arc<Mutex<Vec<Value>>>,
    handle: Handle<SocketAddr>,
}

#[derive(Clone)]
struct HookState {
    form: PatchForm,
    seen: Arc<Mutex<Vec<Value>>>,
}

impl TestHook {
    /// Its entry in a test MutatingWebhookConfiguration: `failurePolicy: Fail`, never
    /// reinvoked.
    pub fn hook(&self, name: &str) -> crate::webhooks::Hook {
        crate::webhooks::Hook {
            name: name.into(),
            url: self.url.clone(),
            ca_pem: self.ca_pem.clone(),
            failure_policy: "Fail",
            reinvocation: "Never",
        }
    }

    /// Starts the webhook on a free 127.0.0.1 port, answering with `form`.
    pub async fn start(form: PatchForm) -> Result<TestHook> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let (ca_pem, cert_pem, key_pem) = certificates()?;
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let state = HookState {
            form,
            seen: seen.clone(),
        };
        let app = Router::new().route("/mutate", post(mutate)).with_state(state);
        let tls = RustlsConfig::from_pem(cert_pem.into_bytes(), key_pem.into_bytes()).await?;
        let handle = Handle::new();
        let server = axum_server::from_tcp_rustls(listener, tls)?.handle(handle.clone());
        tokio::spawn(server.serve(app.into_make_service()));
        Ok(TestHook {
            url: format!("https://{addr}/mutate"),
            ca_pem,
            seen,
            handle,
        })
    }

    /// How many requests it answered.
    pub fn calls(&self) -> usize {
        self.seen.lock().map(|s| s.len()).unwrap_or(0)
    }
}

impl Drop for TestHook {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

/// A throw-away CA and a serving certificate for 127.0.0.1 signed by it: (ca, cert, key) PEMs.
fn certificates() -> Result<(String, String, String)> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "respawn-e2e-testhook-ca");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;
    let key = KeyPair::generate()?;
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])?
        .signed_by(&key, &ca)?;
    Ok((ca.pem(), cert.pem(), key.serialize_pem()))
}

async fn mutate(State(state): State<HookState>, Json(review): Json<Value>) -> Json<Value> {
    let request = &review["request"];
    let object = request["object"].clone();
    let has_labels = object["metadata"]["labels"].is_object();
    if let Ok(mut seen) = state.seen.lock() {
        seen.push(object);
    }
    let label_path = format!(
        "/metadata/labels/{}",
        TOUCHED_LABEL.replace('~', "~0").replace('/', "~1")
    );
    let mut ops = Vec::new();
    if !has_labels {
        ops.push(json!({"op": "add", "path": "/metadata/labels", "value": {}}));
    }
    ops.push(json!({"op": "add", "path": label_path, "value": "true"}));
    let bytes = serde_json::to_vec(&ops).unwrap_or_default();
    let patch = match state.form {
        PatchForm::Base64 => json!(base64::engine::general_purpose::STANDARD.encode(&bytes)),
        PatchForm::NumberArray => json!(bytes),
    };
    Json(json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "response": {"uid": request["uid"], "allowed": true, "patchType": "JSONPatch", "patch": patch}
    }))
}

/// Decodes a `response.patch` value in either wire form, for assertions on raw responses.
pub fn decode_patch(patch: &Value) -> Result<Value> {
    let bytes = match patch {
        Value::String(s) => base64::engine::general_purpose::STANDARD
            .decode(s)
            .context("patch is not base64")?,
        Value::Array(a) => a
            .iter()
            .map(|v| v.as_u64().map(|n| n as u8))
            .collect::<Option<Vec<u8>>>()
            .context("patch array holds non-bytes")?,
        other => anyhow::bail!("unexpected patch value {other}"),
    };
    Ok(serde_json::from_slice(&bytes)?)
}
