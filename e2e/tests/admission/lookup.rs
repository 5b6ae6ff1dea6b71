//! Registry lookups through the real apiserver: the lookup-failure policy (allow → admitted
//! unchanged with a warning, deny → rejected with a message naming container, image and cause).
//! The private-image cases need the local stack's htpasswd registry: `local_only::private_registry`.

use anyhow::{Result, ensure};
use respawn_e2e::pods::{self, OPT_IN, assert_untouched};
use respawn_e2e::with_ns;
use serde_json::json;

/// Per-pod lookup-failure policy: reject.
pub const DENY: (&str, &str) = ("respawn.dev/on-lookup-failure", "deny");

/// A pod with `annotations`, `image`, no command/args (so a lookup is needed).
pub fn lookup_pod(
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
