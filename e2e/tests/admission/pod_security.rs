//! Pod Security "restricted" enforced by the real PodSecurity admission plugin: a compliant pod
//! stays admissible after the webhook added its init container, volume and mount.

use anyhow::{Result, ensure};
use respawn_e2e::pods::{self, OPT_IN, assert_injected};
use respawn_e2e::with_ns;
use serde_json::json;

const RESTRICTED: (&str, &str) = ("pod-security.kubernetes.io/enforce", "restricted");

fn restricted_pod(image: &str) -> k8s_openapi::api::core::v1::Pod {
    pods::from_json(json!({
        "metadata": {"name": "app"},
        "spec": {
            "securityContext": {"runAsNonRoot": true, "runAsUser": 65534, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{
                "name": "app", "image": image,
                "securityContext": {
                    "allowPrivilegeEscalation": false,
                    "capabilities": {"drop": ["ALL"]},
                    "readOnlyRootFilesystem": true
                }
            }]
        }
    }))
}

#[tokio::test]
async fn compliant_pod_is_admitted_after_injection() -> Result<()> {
    let image = crate::image("oci")?;
    with_ns("pss-restricted", &[OPT_IN, RESTRICTED], |ns| async move {
        let admission = ns.admit(&restricted_pod(&image)).await?;
        let stored = admission.pod()?;
        assert_injected(&stored, "app", &["/bin/busybox", "sleep", "3600"])?;
        let violations: Vec<_> = admission
            .warnings
            .iter()
            .filter(|w| w.contains("PodSecurity"))
            .collect();
        ensure!(violations.is_empty(), "PodSecurity warnings: {violations:?}");
        Ok(())
    })
    .await
}

/// The control: the namespace really enforces "restricted" (a non-compliant pod is rejected), so
/// the test above cannot pass by accident.
#[tokio::test]
async fn restricted_namespace_rejects_a_non_compliant_pod() -> Result<()> {
    let image = crate::image("oci")?;
    with_ns("pss-control", &[OPT_IN, RESTRICTED], |ns| async move {
        let pod = pods::pod("app", &[], &image, None, None);
        let admission = ns.admit(&pod).await?;
        ensure!(
            admission.code == 403,
            "expected 403 from PodSecurity, got {}: {}",
            admission.code,
            admission.body
        );
        ensure!(
            admission.message().contains("violates PodSecurity"),
            "message: {}",
            admission.message()
        );
        Ok(())
    })
    .await
}
