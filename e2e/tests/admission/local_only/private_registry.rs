//! A private image in the local stack's htpasswd registry, looked up with the pod's pull secret,
//! which the webhook reads through the real API; and the control without the secret.

use anyhow::{Result, ensure};
use base64::Engine;
use k8s_openapi::api::core::v1::Secret;
use kube::api::PostParams;
use respawn_e2e::pods::{OPT_IN, assert_injected};
use respawn_e2e::{Stack, with_ns};
use serde_json::json;

use crate::lookup::{DENY, lookup_pod};

const NEEDS: &str = "the local stack's htpasswd registry (AUTH_REGISTRY_*)";

fn private_image() -> Result<String> {
    Ok(format!(
        "127.0.0.1:{}/respawn-test/private:v1",
        Stack::local_only(NEEDS)?.var("AUTH_REGISTRY_PORT")?
    ))
}

fn pull_secret() -> Result<Secret> {
    let stack = Stack::local_only(NEEDS)?;
    let (user, pass) = (
        stack.var("AUTH_REGISTRY_USER")?,
        stack.var("AUTH_REGISTRY_PASSWORD")?,
    );
    let host = format!("127.0.0.1:{}", stack.var("AUTH_REGISTRY_PORT")?);
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
    let config = json!({"auths": {host: {"auth": auth}}}).to_string();
    Ok(serde_json::from_value(json!({
        "metadata": {"name": "regcred"},
        "type": "kubernetes.io/dockerconfigjson",
        "stringData": {".dockerconfigjson": config}
    }))?)
}

#[tokio::test]
async fn private_image_is_looked_up_with_the_pods_pull_secret() -> Result<()> {
    let image = private_image()?;
    with_ns("pull-secret", &[OPT_IN], |ns| async move {
        ns.api::<Secret>()
            .create(&PostParams::default(), &pull_secret()?)
            .await?;
        let stored = ns
            .create_pod(&lookup_pod(&image, &[DENY], Some("regcred")))
            .await?;
        assert_injected(&stored, "app", &["/bin/busybox", "sleep", "3600"])
    })
    .await
}

/// The control: without the secret the same private image cannot be looked up.
#[tokio::test]
async fn private_image_without_pull_secret_is_denied() -> Result<()> {
    let image = private_image()?;
    with_ns("no-pull-secret", &[OPT_IN], |ns| async move {
        let admission = ns.admit(&lookup_pod(&image, &[DENY], None)).await?;
        ensure!(
            admission.code >= 400,
            "admitted without credentials: {}",
            admission.body
        );
        let msg = admission.message();
        ensure!(
            msg.contains("app") && msg.contains(&image),
            "message does not name container and image: {msg}"
        );
        Ok(())
    })
    .await
}
