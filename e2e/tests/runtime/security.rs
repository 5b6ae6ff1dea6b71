//! What a locked-down namespace needs, on a real node: Pod Security "restricted" enforced — the
//! injected pod is admitted **and runs** (non-root, no privilege escalation, no capabilities,
//! RuntimeDefault seccomp, the installer with a read-only root filesystem); and a private image
//! pulled by the kubelet with the same pull secret the webhook used to look it up.

use std::process::Command;

use anyhow::{Context, Result, ensure};
use base64::Engine;
use k8s_openapi::api::core::v1::Secret;
use kube::api::PostParams;
use respawn_e2e::node;
use respawn_e2e::{Stack, pods, with_ns};
use serde_json::json;

use crate::{APP_START, create_injected, status};

const RESTRICTED: (&str, &str) = ("pod-security.kubernetes.io/enforce", "restricted");

#[tokio::test]
async fn restricted_namespace_runs_the_injected_non_root_pod() -> Result<()> {
    let (_, images, k) = crate::local()?;
    with_ns("pss-run", &[pods::OPT_IN, RESTRICTED], |ns| async move {
        let pod = pods::from_json(json!({
            "metadata": {"name": "app"},
            "spec": {
                "terminationGracePeriodSeconds": 5,
                "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [{
                    "name": "app", "image": images.sample_app,
                    "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}
                }]
            }
        }));
        let admission = ns.admit(&pod).await?;
        let stored = admission.pod()?;
        ensure!(pods::is_injected(&stored), "not injected");
        let warnings: Vec<_> = admission
            .warnings
            .iter()
            .filter(|w| w.contains("PodSecurity"))
            .collect();
        ensure!(warnings.is_empty(), "PodSecurity warnings: {warnings:?}");
        let running = node::wait_running(&ns, "app").await?;
        let install = node::status(&running, pods::INIT_NAME)
            .and_then(|s| s.state.as_ref()?.terminated.clone())
            .context("respawn-install did not terminate")?;
        ensure!(
            install.exit_code == 0,
            "respawn-install exited {}",
            install.exit_code
        );
        k.wait_for_log(&ns.name, "app", "app", APP_START, 1)?;
        let s = status(&k, &ns.name, "app")?;
        ensure!(s.generation == 1, "status:\n{}", s.text);
        k.exec(&ns.name, "app", None, &[pods::SUPERVISOR_PATH, "restart"])?;
        k.wait_for_log(&ns.name, "app", "app", APP_START, 2)?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn private_image_runs_with_the_pull_secret_the_lookup_used() -> Result<()> {
    let (stack, images, k) = crate::local()?;
    let host = format!("127.0.0.1:{}", stack.var("AUTH_REGISTRY_PORT")?);
    let auth = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        stack.var("AUTH_REGISTRY_USER")?,
        stack.var("AUTH_REGISTRY_PASSWORD")?
    ));
    let image = format!("{host}/respawn-test/private:v1");
    with_ns("private", &[pods::OPT_IN], |ns| async move {
        let secret: Secret = serde_json::from_value(json!({
            "metadata": {"name": "regcred"},
            "type": "kubernetes.io/dockerconfigjson",
            "stringData": {".dockerconfigjson": json!({"auths": {&host: {"auth": auth}}}).to_string()}
        }))?;
        ns.api::<Secret>().create(&PostParams::default(), &secret).await?;
        let pod = pods::from_json(json!({
            "metadata": {"name": "private", "annotations": {"respawn.dev/on-lookup-failure": "deny"}},
            "spec": {
                "terminationGracePeriodSeconds": 2,
                "imagePullSecrets": [{"name": "regcred"}],
                "containers": [{"name": "app", "image": image}]
            }
        }));
        let stored = create_injected(&ns, &pod, images).await?;
        pods::assert_injected(&stored, "app", &["/bin/busybox", "sleep", "3600"])?;
        let running = node::wait_running(&ns, "private").await?;
        // The manifest the node pulled is the one the webhook read. (The pod's imageID names
        // one repository of the image, which may be another holding the same manifest.)
        let original: serde_json::Value = serde_json::from_str(
            pods::annotation(&stored, "respawn.dev/original-argv").context("no original-argv annotation")?,
        )?;
        let looked_up = original["app"]["digest"]
            .as_str()
            .context("no digest in original-argv")?;
        let pulled = crictl_repo_digests(stack, &image)?;
        let want = format!("{host}/respawn-test/private@{looked_up}");
        ensure!(
            pulled.contains(&want),
            "the node holds {image} as {pulled:?}; the webhook looked up {want}"
        );
        let running = node::status(&running, "app").map(|s| s.ready);
        ensure!(running == Some(true), "app not ready");
        let s = crate::status(&k, &ns.name, "private")?;
        ensure!(s.generation == 1, "status:\n{}", s.text);
        Ok(())
    })
    .await
}

/// The repository digests the node's containerd records for `image` (`crictl inspecti`).
fn crictl_repo_digests(stack: &Stack, image: &str) -> Result<Vec<String>> {
    let endpoint = format!("unix://{}", stack.var("CONTAINERD_SOCKET")?);
    let out = Command::new(stack.var("CRICTL")?)
        .args(["--image-endpoint", &endpoint, "inspecti", "-o", "json", image])
        .output()
        .context("running crictl")?;
    ensure!(
        out.status.success(),
        "crictl inspecti {image}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    Ok(v["status"]["repoDigests"]
        .as_array()
        .context("no repoDigests")?
        .iter()
        .filter_map(|d| d.as_str().map(str::to_string))
        .collect())
}
