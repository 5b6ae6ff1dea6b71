//! Registry lookups through the real apiserver: a private image whose pull secret the webhook reads
//! through the API, and the lookup-failure policy (allow → admitted unchanged with a warning,
//! deny → rejected with a message naming container, image and cause).

use anyhow::{Result, ensure};
use base64::Engine;
use k8s_openapi::api::core::v1::Secret;
use kube::api::PostParams;
use respawn_e2e::pods::{self, OPT_IN, assert_injected, assert_untouched};
use respawn_e2e::{Stack, with_ns};
use serde_json::json;

const DENY: (&str, &str) = ("respawn.dev/on-lookup-failure", "deny");

fn private_image() -> Result<String> {
    Ok(format!(
        "127.0.0.1:{}/respawn-test/private:v1",
        Stack::get().var("AUTH_REGISTRY_PORT")?
    ))
}

fn pull_secret() -> Result<Secret> {
    let stack = Stack::get();
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

/// A pod with `annotations`, `image`, no command/args (so a lookup is needed).
fn lookup_pod(
    image: &str,
    annotations: &[(&str, &str)],
    pull_secret: Option<&str>,
) -> k8s_openapi::api::core::v1::Pod {
    let annotations: serde_json::Map<_, _> = annotations
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    let mut spec = json!({"containers": [{"name": "app", "image": image}]});
    if let Some(name) = pull_secret {
        spec["imagePullSecrets"] = json!([{"name": name}]);
    }
    pods::from_json(json!({"metadata": {"name": "app", "annotations": annotations}, "spec": spec}))
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

#[tokio::test]
async fn lookup_failure_with_policy_allow_admits_unchanged_with_a_warning() -> Result<()> {
    let image = crate::image("does-not-exist")?;
    with_ns("lookup-allow", &[OPT_IN], |ns| async move {
        let admission = ns.admit(&lookup_pod(&image, &[], None)).await?;
        assert_untouched(&admission.pod()?, "app", None, None)?;
        ensure!(
            admission.warnings.iter().any(|w| w.contains(&image)),
            "no warning naming {image}: {:?}",
            admission.warnings
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn lookup_failure_with_policy_deny_rejects_with_our_message() -> Result<()> {
    let image = crate::image("does-not-exist")?;
    with_ns("lookup-deny", &[OPT_IN], |ns| async move {
        let admission = ns.admit(&lookup_pod(&image, &[DENY], None)).await?;
        ensure!(
            admission.code >= 400 && admission.code < 500,
            "expected a rejection, got {}: {}",
            admission.code,
            admission.body
        );
        let msg = admission.message();
        ensure!(
            msg.contains("respawn"),
            "the rejection does not come from our webhook: {msg}"
        );
        ensure!(
            msg.contains("app") && msg.contains(&image),
            "message does not name container and image: {msg}"
        );
        ensure!(
            msg.contains("not found"),
            "message does not give the cause: {msg}"
        );
        Ok(())
    })
    .await
}

/// An image with neither ENTRYPOINT nor CMD and a pod that sets neither cannot run: the policy
/// decides (default allow: unchanged, with a warning).
#[tokio::test]
async fn image_without_entrypoint_or_cmd_follows_the_policy() -> Result<()> {
    let image = crate::image("neither")?;
    with_ns("lookup-neither", &[OPT_IN], |ns| async move {
        let admission = ns.admit(&lookup_pod(&image, &[], None)).await?;
        assert_untouched(&admission.pod()?, "app", None, None)?;
        ensure!(
            !admission.warnings.is_empty(),
            "no warning for an image without ENTRYPOINT and CMD"
        );
        Ok(())
    })
    .await
}
