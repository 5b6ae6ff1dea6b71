//! Reading the pod: is it injected already, which containers can be wrapped, which platform it
//! runs on, free names for what is added, and the `RESPAWN_*` variables per container.

use k8s_openapi::api::core::v1::{Container, PodSpec};

use super::annotations::{self, PodSettings};
use super::{INIT_NAME, MOUNT_PATH, SUPERVISOR_PATH, VOLUME_NAME};
use crate::images::Platform;

/// True when the pod carries the status annotation, the injected label (any value) or the init
/// container.
pub fn is_injected(pod: &k8s_openapi::api::core::v1::Pod) -> bool {
    let annotated = pod
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(annotations::STATUS))
        .is_some_and(|s| s == "injected");
    let labelled = pod
        .metadata
        .labels
        .as_ref()
        .is_some_and(|l| l.contains_key(annotations::INJECTED_LABEL));
    let init = pod
        .spec
        .as_ref()
        .and_then(|s| s.init_containers.as_ref())
        .is_some_and(|ics| ics.iter().any(|c| c.name == INIT_NAME));
    annotated || labelled || init
}

/// Regular containers chosen by the annotation (default all), minus those that cannot be wrapped.
pub fn containers(spec: &PodSpec, s: &PodSettings, warnings: &mut Vec<String>) -> Vec<usize> {
    if let Some(names) = &s.containers {
        for n in names
            .iter()
            .filter(|n| !spec.containers.iter().any(|c| &c.name == *n))
        {
            let kind = if spec.init_containers.iter().flatten().any(|c| &c.name == n) {
                "is an init container (never wrapped)"
            } else {
                "does not exist"
            };
            warnings.push(format!(
                "respawn: container {n:?} named in {} {kind}",
                annotations::CONTAINERS
            ));
        }
    }
    let wanted = |c: &Container| s.containers.as_ref().is_none_or(|n| n.contains(&c.name));
    let mut out = Vec::new();
    for (i, c) in spec.containers.iter().enumerate().filter(|(_, c)| wanted(c)) {
        match unwrappable(c) {
            Some(why) => warnings.push(format!("respawn: container {:?} not wrapped: {why}", c.name)),
            None => out.push(i),
        }
    }
    out
}

fn unwrappable(c: &Container) -> Option<&'static str> {
    if c.command
        .as_ref()
        .and_then(|cmd| cmd.first())
        .is_some_and(|p| p == SUPERVISOR_PATH)
    {
        return Some("it already runs the supervisor");
    }
    let mounts = c.volume_mounts.iter().flatten();
    if mounts
        .clone()
        .any(|m| m.mount_path.trim_end_matches('/') == MOUNT_PATH)
    {
        return Some("it already mounts something at /respawn");
    }
    if c.image.as_deref().is_none_or(str::is_empty) {
        return Some("it has no image");
    }
    None
}

/// The pod's platform and whether the pod pins its architecture: `kubernetes.io/os` and
/// `kubernetes.io/arch` from the nodeSelector, else from required node affinity when every
/// term names one single value, else the default (os `windows` also from `spec.os`).
pub fn platform_of(spec: &PodSpec, default: &Platform) -> (Platform, bool) {
    let from_selector = |k: &str| {
        spec.node_selector
            .as_ref()
            .and_then(|s| s.get(k))
            .filter(|v| !v.is_empty())
            .cloned()
    };
    let label = |k: &str| from_selector(k).or_else(|| from_affinity(spec, k));
    let os = label("kubernetes.io/os").or_else(|| spec.os.as_ref().map(|o| o.name.clone()));
    let arch = label("kubernetes.io/arch");
    let pinned = arch.is_some();
    let platform = Platform {
        os: os.unwrap_or_else(|| default.os.clone()),
        variant: if arch.is_none() {
            default.variant.clone()
        } else {
            None
        },
        architecture: arch.unwrap_or_else(|| default.architecture.clone()),
    };
    (platform, pinned)
}

/// `key In [v]` in every required node-affinity term, all with the same single `v`.
fn from_affinity(spec: &PodSpec, key: &str) -> Option<String> {
    let terms = &spec
        .affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()?
        .node_selector_terms;
    let mut found: Option<String> = None;
    for term in terms {
        let expr = term
            .match_expressions
            .iter()
            .flatten()
            .find(|e| e.key == key && e.operator == "In")?;
        let [value] = expr.values.as_deref()? else {
            return None;
        };
        if found.as_ref().is_some_and(|f| f != value) {
            return None;
        }
        found = Some(value.clone());
    }
    found
}

/// The `RESPAWN_*` variables for one container: the pod's settings minus those the container
/// sets itself (which win, with a warning).
pub fn env_for(
    c: &Container,
    settings: &[(String, String)],
    warnings: &mut Vec<String>,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (name, value) in settings {
        if c.env.iter().flatten().any(|e| e.name == *name) {
            warnings.push(format!(
                "respawn: container {:?} already sets {name}; annotation value not applied",
                c.name
            ));
            continue;
        }
        out.push((name.clone(), value.clone()));
    }
    out
}

/// `base`, or `base-1`, `base-2`, … whichever is not `taken`.
pub fn free_name(base: &str, taken: impl Fn(&str) -> bool) -> String {
    if !taken(base) {
        return base.to_string();
    }
    (1..)
        .map(|i| format!("{base}-{i}"))
        .find(|n| !taken(n))
        .expect("unbounded")
}

/// Free names for the volume and the init container.
pub struct Names {
    /// Volume name.
    pub volume: String,
    /// Init container name.
    pub init: String,
}

impl Names {
    /// Names no existing volume or container uses.
    pub fn pick(spec: &PodSpec) -> Names {
        let volume_taken = |n: &str| spec.volumes.iter().flatten().any(|v| v.name == n);
        let container_taken = |n: &str| {
            let regular = spec
                .containers
                .iter()
                .chain(spec.init_containers.iter().flatten());
            regular.clone().any(|c| c.name == n)
                || spec.ephemeral_containers.iter().flatten().any(|c| c.name == n)
        };
        Names {
            volume: free_name(VOLUME_NAME, volume_taken),
            init: free_name(INIT_NAME, container_taken),
        }
    }
}
