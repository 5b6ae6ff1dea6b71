//! Runtime e2e: injected pods really run, on the stack's node — kubelet v1.36 + containerd 2.x +
//! runc (`e2e/stack/node.sh`). Every pod is created through the real kube-apiserver (the real
//! webhook mutates it, looking the image's ENTRYPOINT/CMD up in the local registry), scheduled by
//! kube-scheduler and run by the kubelet; the tests then use `kubectl exec`, `logs` and `delete`
//! as a user would. One test binary; every case in its own namespace.
//!
//! Needs the local stack (root, `make deps`); run with `make e2e`.

mod argv;
mod delivery;
mod probes;
mod qos;
mod restart;
mod security;
mod stop;
mod workloads;

use std::process::{Command, Stdio};
use std::sync::OnceLock;

use anyhow::{Context, Result, ensure};
use k8s_openapi::api::core::v1::Pod;
use respawn_e2e::node::{Kubectl, SupervisorStatus};
use respawn_e2e::stack::repo_root;
use respawn_e2e::{Stack, TempNs, pods};
use serde_json::json;

/// Why these tests need the local stack.
const NODE: &str = "the local node (kubelet + containerd) running pods from the local registry";

/// Printed by sample-app when it starts.
pub const APP_START: &str = "sample-app: started pid=";
/// Printed by sample-shell when it starts.
pub const SHELL_START: &str = "sample-shell: started pid=";

/// Images pushed to the stack's open registry.
pub struct Images {
    /// `host:port/respawn-sample-app:TAG`: no shell, ENTRYPOINT + CMD in the image.
    pub sample_app: String,
    /// `host:port/respawn-sample-shell:TAG`: busybox, exits 42 on SIGTERM.
    pub sample_shell: String,
    /// The supervisor image the stack built from this tree and pushed, by digest
    /// (`SUPERVISOR_IMAGE` in stack.env): what the stack's webhook injects.
    pub supervisor: String,
}

/// The local stack, the sample images (built by `e2e/stack/images.sh samples` once per test
/// binary and pushed) and the stack's kubectl.
pub fn local() -> Result<(&'static Stack, &'static Images, Kubectl)> {
    static IMAGES: OnceLock<Result<Images, String>> = OnceLock::new();
    let stack = Stack::local_only(NODE)?;
    let images = IMAGES
        .get_or_init(|| build_images(stack).map_err(|e| format!("{e:#}")))
        .as_ref()
        .map_err(|e| anyhow::anyhow!("building the sample images failed: {e}"))?;
    Ok((stack, images, Kubectl::of(stack)?))
}

fn build_images(stack: &Stack) -> Result<Images> {
    let registry = stack.registry()?;
    let out = Command::new(repo_root().join("e2e/stack/images.sh"))
        .arg("samples")
        .env("REGISTRY", &registry)
        .stderr(Stdio::inherit())
        .output()
        .context("running e2e/stack/images.sh")?;
    ensure!(
        out.status.success(),
        "e2e/stack/images.sh samples failed ({})",
        out.status
    );
    let refs = String::from_utf8(out.stdout)?;
    let find = |needle: &str| -> Result<String> {
        refs.lines()
            .find(|l| l.contains(needle))
            .map(str::to_string)
            .with_context(|| format!("images.sh printed no {needle} reference:\n{refs}"))
    };
    Ok(Images {
        sample_app: find(&format!("{registry}/respawn-sample-app:"))?,
        sample_shell: find(&format!("{registry}/respawn-sample-shell:"))?,
        supervisor: stack.var("SUPERVISOR_IMAGE")?.to_string(),
    })
}

/// A one-container pod `name` of `image` without `command`/`args` (the webhook takes the argv
/// from the image config), with `annotations`.
pub fn app_pod(name: &str, image: &str, annotations: serde_json::Value) -> Pod {
    pods::from_json(json!({
        "metadata": {"name": name, "annotations": annotations},
        "spec": {
            "terminationGracePeriodSeconds": 5,
            "containers": [{"name": "app", "image": image}]
        }
    }))
}

/// Creates the pod through the apiserver; checks that the webhook injected it with exactly the
/// supervisor image the stack pushed (so what the node pulls is what was built from this tree).
pub async fn create_injected(ns: &TempNs, pod: &Pod, images: &Images) -> Result<Pod> {
    let stored = ns.create_pod(pod).await?;
    ensure!(
        pods::is_injected(&stored),
        "the webhook did not inject the pod: {}",
        serde_json::to_string_pretty(&stored)?
    );
    let init = stored
        .spec
        .as_ref()
        .and_then(|s| s.init_containers.as_ref())
        .and_then(|i| i.iter().find(|c| c.name == pods::INIT_NAME))
        .context("the stored pod has no respawn-install init container")?;
    ensure!(
        init.image.as_deref() == Some(&images.supervisor),
        "the webhook injected supervisor image {:?}, the stack pushed {}",
        init.image,
        images.supervisor
    );
    Ok(stored)
}

/// `kubectl exec POD -- /respawn/respawn status` (the pod's default container), parsed.
pub fn status(k: &Kubectl, ns: &str, pod: &str) -> Result<SupervisorStatus> {
    SupervisorStatus::parse(&k.exec(ns, pod, None, &[pods::SUPERVISOR_PATH, "status"])?)
}

/// The pids printed after `marker` (sample-app/sample-shell start lines), in order.
pub fn started_pids(logs: &str, marker: &str) -> Vec<u32> {
    logs.lines()
        .filter_map(|l| l.split(marker).nth(1))
        .filter_map(|rest| rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
        .collect()
}
