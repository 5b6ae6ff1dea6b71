//! Pod builders and assertions on what the apiserver stored.

use anyhow::{Context, Result, ensure};
use k8s_openapi::api::core::v1::{Container, Pod};
use serde_json::{Value, json};

use crate::{INJECT_LABEL, STATUS_ANNOTATION};

/// Path of the supervisor inside wrapped containers.
pub const SUPERVISOR_PATH: &str = "/respawn/respawn";
/// Name of the injected init container.
pub const INIT_NAME: &str = "respawn-install";
/// Name of the injected emptyDir volume.
pub const VOLUME_NAME: &str = "respawn";

/// A pod from JSON (`metadata` + `spec`), for tests that want to spell the whole object.
pub fn from_json(value: Value) -> Pod {
    serde_json::from_value(value).expect("test pod JSON is a valid Pod")
}

/// A one-container pod `name` running `image`, with `labels`; `command`/`args` set when given.
pub fn pod(
    name: &str,
    labels: &[(&str, &str)],
    image: &str,
    command: Option<&[&str]>,
    args: Option<&[&str]>,
) -> Pod {
    let mut container = json!({"name": "app", "image": image});
    if let Some(c) = command {
        container["command"] = json!(c);
    }
    if let Some(a) = args {
        container["args"] = json!(a);
    }
    let labels: serde_json::Map<String, Value> =
        labels.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    from_json(json!({
        "metadata": {"name": name, "labels": labels},
        "spec": {"containers": [container], "terminationGracePeriodSeconds": 1}
    }))
}

/// Pod labels opting in.
pub const OPT_IN: (&str, &str) = (INJECT_LABEL, "enabled");
/// Pod labels opting out.
pub const OPT_OUT: (&str, &str) = (INJECT_LABEL, "disabled");

/// True when the webhook marked the pod as injected.
pub fn is_injected(pod: &Pod) -> bool {
    annotation(pod, STATUS_ANNOTATION) == Some("injected")
}

/// An annotation's value.
pub fn annotation<'a>(pod: &'a Pod, key: &str) -> Option<&'a str> {
    pod.metadata.annotations.as_ref()?.get(key).map(String::as_str)
}

/// The container called `name`.
pub fn container<'a>(pod: &'a Pod, name: &str) -> Result<&'a Container> {
    let spec = pod.spec.as_ref().context("pod has no spec")?;
    spec.containers
        .iter()
        .find(|c| c.name == name)
        .with_context(|| format!("no container {name}"))
}

/// Asserts the stored pod is injected exactly once and container `name` runs
/// `/respawn/respawn -- argv...`.
pub fn assert_injected(pod: &Pod, name: &str, argv: &[&str]) -> Result<()> {
    ensure!(
        is_injected(pod),
        "pod is not annotated {STATUS_ANNOTATION}=injected: {:?}",
        pod.metadata.annotations
    );
    let spec = pod.spec.as_ref().context("pod has no spec")?;
    let inits = spec.init_containers.as_deref().unwrap_or_default();
    let installs = inits.iter().filter(|c| c.name == INIT_NAME).count();
    ensure!(
        installs == 1,
        "expected one {INIT_NAME} init container, found {installs}"
    );
    ensure!(
        inits[0].name == INIT_NAME,
        "{INIT_NAME} is not the first init container: {:?}",
        names(inits)
    );
    let volumes = spec.volumes.as_deref().unwrap_or_default();
    let vols: Vec<_> = volumes.iter().filter(|v| v.name == VOLUME_NAME).collect();
    ensure!(
        vols.len() == 1 && vols[0].empty_dir.is_some(),
        "expected one emptyDir volume {VOLUME_NAME}, got {vols:?}"
    );
    let c = container(pod, name)?;
    ensure!(
        c.command.as_deref() == Some(&[SUPERVISOR_PATH.to_string()][..]),
        "container {name}: command {:?}, want [{SUPERVISOR_PATH}]",
        c.command
    );
    let mut want = vec!["--".to_string()];
    want.extend(argv.iter().map(|s| s.to_string()));
    ensure!(
        c.args.as_deref() == Some(&want[..]),
        "container {name}: args {:?}, want {want:?}",
        c.args
    );
    let mounts = c.volume_mounts.as_deref().unwrap_or_default();
    let m: Vec<_> = mounts.iter().filter(|m| m.mount_path == "/respawn").collect();
    ensure!(
        m.len() == 1 && m[0].name == VOLUME_NAME && m[0].read_only == Some(true),
        "container {name}: expected one read-only mount of {VOLUME_NAME} at /respawn, got {mounts:?}"
    );
    Ok(())
}

/// Asserts the webhook left the pod alone: no status annotation, no init container, no volume,
/// container `name` still has `command`/`args` as given.
pub fn assert_untouched(
    pod: &Pod,
    name: &str,
    command: Option<&[&str]>,
    args: Option<&[&str]>,
) -> Result<()> {
    ensure!(
        annotation(pod, STATUS_ANNOTATION).is_none(),
        "pod carries {STATUS_ANNOTATION}: {:?}",
        pod.metadata.annotations
    );
    let spec = pod.spec.as_ref().context("pod has no spec")?;
    let inits = spec.init_containers.as_deref().unwrap_or_default();
    ensure!(
        inits.iter().all(|c| c.name != INIT_NAME),
        "pod has the {INIT_NAME} init container"
    );
    let volumes = spec.volumes.as_deref().unwrap_or_default();
    ensure!(
        volumes.iter().all(|v| v.name != VOLUME_NAME),
        "pod has the {VOLUME_NAME} volume"
    );
    let c = container(pod, name)?;
    let owned = |v: Option<&[&str]>| v.map(|v| v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    ensure!(
        c.command == owned(command),
        "container {name}: command changed to {:?}",
        c.command
    );
    ensure!(
        c.args == owned(args),
        "container {name}: args changed to {:?}",
        c.args
    );
    Ok(())
}

fn names(containers: &[Container]) -> Vec<&str> {
    containers.iter().map(|c| c.name.as_str()).collect()
}
