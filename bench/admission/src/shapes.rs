//! Pod shapes (`bench/admission/pods/*.json`) and, for each, the final pod respawn produces.
//!
//! The final pod (mode F) is taken from what respawn really produced: one pod of the shape is
//! created through the webhook and read back; the fields the apiserver sets on its own are then
//! removed, so that creating the result directly stores the same pod. Which fields those are is
//! found by experiment rather than listed: server metadata, `status` and the ServiceAccount
//! plugin's token volume are removed first; then every other member is tried in turn, and kept
//! out when a dry-run create without it still stores exactly the injected pod (a default, or a
//! field an in-tree admission plugin sets). The result is the smallest spelling of the final pod,
//! as a user would write it, and it is checked once more before use.

use std::path::Path;

use anyhow::{Context, Result, ensure};
use hyper::body::Bytes;
use serde_json::Value;

use crate::cluster::{Cluster, PART_OF};

/// A pod shape: the plain pod and the final pod respawn makes of it.
#[derive(Debug, Clone)]
pub struct Shape {
    /// `small` or `realistic` (the fixture's file name).
    pub name: String,
    /// The pod as a user writes it (modes P, N, R).
    pub plain: Value,
    /// The same pod after respawn's injection, minus what the apiserver sets itself (mode F).
    pub final_pod: Value,
    /// How many dry-run creates finding `final_pod` took.
    pub trials: usize,
}

/// The fixture `pods/NAME.json`, images pointed at `registry`.
pub fn load(name: &str, registry: &str) -> Result<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("pods/{name}.json"));
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut pod: Value = serde_json::from_str(&text.replace("REGISTRY", registry))?;
    pod["metadata"]["labels"][PART_OF.0] = PART_OF.1.into();
    Ok(pod)
}

/// `pod` named `name`, as compact JSON.
pub fn body(pod: &Value, name: &str) -> Bytes {
    let mut pod = pod.clone();
    pod["metadata"]["name"] = name.into();
    Bytes::from(serde_json::to_vec(&pod).expect("a JSON value serialises"))
}

/// Serialised size in bytes.
pub fn size(pod: &Value) -> usize {
    serde_json::to_vec(pod).map_or(0, |v| v.len())
}

/// Creates `plain` in `injected_ns` (where respawn injects), reads the stored pod back and finds
/// its final spelling with dry runs in `direct_ns` (no webhook).
pub async fn derive(
    cluster: &Cluster,
    name: &str,
    plain: Value,
    injected_ns: &str,
    direct_ns: &str,
) -> Result<Shape> {
    let mut source = plain.clone();
    source["metadata"]["name"] = format!("final-source-{name}").into();
    let stored = cluster.create_pod(injected_ns, &source, false).await?;
    ensure!(
        stored["metadata"]["annotations"]["respawn.dev/status"] == "injected",
        "respawn did not inject the {name} pod: {stored}"
    );
    let target = normalise(&stored);
    let mut final_pod = stored;
    strip_server_set(&mut final_pod);
    let mut trials = 0;
    trim(cluster, direct_ns, &plain, &mut final_pod, &target, &mut trials).await?;
    if !stores_target(cluster, direct_ns, &final_pod, &target).await? {
        let stored = cluster.create_pod(direct_ns, &final_pod, true).await?;
        let mut diffs = Vec::new();
        differences(&normalise(&stored), &target, String::new(), &mut diffs);
        anyhow::bail!(
            "the final {name} pod, created directly, does not store the injected pod; differences \
             (created directly / injected): {}",
            diffs.join("; ")
        );
    }
    Ok(Shape {
        name: name.to_string(),
        plain,
        final_pod,
        trials,
    })
}

/// What a stored pod looks like without identity and time: server metadata dropped, the random
/// suffix of the ServiceAccount token volume (`kube-api-access-xxxxx`) blanked, volumes and
/// mounts in name/path order. (Their order carries no meaning — both are keyed lists — and differs
/// by construction: the ServiceAccount plugin appends its volume before respawn's patch when
/// injected, after the spelled-out respawn volume when created directly.)
fn normalise(stored: &Value) -> Value {
    let mut v = stored.clone();
    let sort = |list: Option<&mut Value>, key: &str| {
        if let Some(a) = list.and_then(Value::as_array_mut) {
            a.sort_by(|x, y| x[key].as_str().cmp(&y[key].as_str()));
        }
    };
    if let Some(spec) = v.get_mut("spec") {
        sort(spec.get_mut("volumes"), "name");
        for list in ["initContainers", "containers"] {
            for c in spec
                .get_mut(list)
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                sort(c.get_mut("volumeMounts"), "mountPath");
            }
        }
    }
    if let Some(meta) = v["metadata"].as_object_mut() {
        for k in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "managedFields",
            "name",
            "namespace",
            "generation",
        ] {
            meta.remove(k);
        }
    }
    let text = v.to_string();
    let marker = "kube-api-access-";
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(i) = rest.find(marker) {
        out.push_str(&rest[..i + marker.len()]);
        rest = &rest[i + marker.len()..];
        let n = rest.bytes().take_while(u8::is_ascii_alphanumeric).count();
        out.push('x');
        rest = &rest[n..];
    }
    out.push_str(rest);
    serde_json::from_str(&out).expect("blanking names keeps JSON valid")
}

/// Where `a` and `b` differ, as `pointer: a / b` (at most 12).
fn differences(a: &Value, b: &Value, at: String, out: &mut Vec<String>) {
    if out.len() >= 12 || a == b {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                let (u, v) = (x.get(k).unwrap_or(&Value::Null), y.get(k).unwrap_or(&Value::Null));
                differences(u, v, format!("{at}/{k}"), out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (u, v)) in x.iter().zip(y).enumerate() {
                differences(u, v, format!("{at}/{i}"), out);
            }
        }
        _ => out.push(format!("{at}: {a} / {b}")),
    }
}

/// Removes what a create never carries: server metadata, `status`, and the ServiceAccount
/// plugin's projected token volume with its mounts (the plugin adds them again, as for every pod).
fn strip_server_set(pod: &mut Value) {
    if let Some(meta) = pod["metadata"].as_object_mut() {
        for k in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "managedFields",
            "namespace",
            "generation",
        ] {
            meta.remove(k);
        }
    }
    if let Some(p) = pod.as_object_mut() {
        p.remove("status");
    }
    let token = |name: &Value| name.as_str().is_some_and(|n| n.starts_with("kube-api-access-"));
    let Some(spec) = pod.get_mut("spec") else { return };
    if let Some(vols) = spec.get_mut("volumes").and_then(Value::as_array_mut) {
        vols.retain(|v| !token(&v["name"]));
    }
    for list in ["initContainers", "containers"] {
        for c in spec
            .get_mut(list)
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if let Some(mounts) = c.get_mut("volumeMounts").and_then(Value::as_array_mut) {
                mounts.retain(|m| !token(&m["name"]));
            }
        }
    }
}

/// True when creating `pod` directly (dry run) stores exactly `target`.
async fn stores_target(cluster: &Cluster, ns: &str, pod: &Value, target: &Value) -> Result<bool> {
    match cluster.create_pod(ns, pod, true).await {
        Ok(stored) => Ok(normalise(&stored) == *target),
        Err(e)
            if e.chain()
                .any(|c| matches!(c.downcast_ref::<kube::Error>(), Some(kube::Error::Api(_)))) =>
        {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// Removes, member by member (outermost first), whatever the apiserver would set to the same
/// value anyway. Never removes what the plain pod itself spells (same pointer, same value), nor
/// `apiVersion`, `kind` or the name.
async fn trim(
    cluster: &Cluster,
    ns: &str,
    plain: &Value,
    pod: &mut Value,
    target: &Value,
    trials: &mut usize,
) -> Result<()> {
    let mut todo = vec![String::new()];
    while let Some(ptr) = todo.pop() {
        let children: Vec<(String, Option<String>)> = match pod.pointer(&ptr) {
            Some(Value::Object(m)) => m
                .keys()
                .map(|k| {
                    (
                        format!("{ptr}/{}", k.replace('~', "~0").replace('/', "~1")),
                        Some(k.clone()),
                    )
                })
                .collect(),
            Some(Value::Array(a)) => (0..a.len()).map(|i| (format!("{ptr}/{i}"), None)).collect(),
            _ => continue,
        };
        for (child, key) in children {
            let fixed = matches!(
                child.as_str(),
                "/apiVersion" | "/kind" | "/metadata" | "/metadata/name"
            );
            let spelled = plain.pointer(&child).is_some() && plain.pointer(&child) == pod.pointer(&child);
            if let (Some(key), false, false) = (key, fixed, spelled) {
                let mut candidate = pod.clone();
                if let Some(parent) = candidate.pointer_mut(&ptr).and_then(Value::as_object_mut) {
                    parent.remove(&key);
                }
                *trials += 1;
                if stores_target(cluster, ns, &candidate, target).await? {
                    *pod = candidate;
                    continue;
                }
            }
            if matches!(pod.pointer(&child), Some(Value::Object(_) | Value::Array(_))) {
                todo.push(child);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn normalise_blanks_identity_and_token_names() {
        let a = json!({"metadata": {"name": "a", "uid": "1", "labels": {"x": "y"}},
            "spec": {"volumes": [{"name": "kube-api-access-abc12"}]}});
        let b = json!({"metadata": {"name": "b", "uid": "2", "labels": {"x": "y"}},
            "spec": {"volumes": [{"name": "kube-api-access-zz9x8"}]}});
        assert_eq!(normalise(&a), normalise(&b));
        assert_eq!(normalise(&a)["spec"]["volumes"][0]["name"], "kube-api-access-x");
    }

    #[test]
    fn server_set_parts_are_stripped() {
        let mut p = json!({"metadata": {"name": "a", "uid": "1"}, "status": {"phase": "Pending"},
            "spec": {"volumes": [{"name": "kube-api-access-abc12"}, {"name": "respawn"}],
                     "containers": [{"name": "c", "volumeMounts": [{"name": "kube-api-access-abc12"}, {"name": "respawn"}]}]}});
        strip_server_set(&mut p);
        assert_eq!(
            p,
            json!({"metadata": {"name": "a"},
            "spec": {"volumes": [{"name": "respawn"}], "containers": [{"name": "c", "volumeMounts": [{"name": "respawn"}]}]}})
        );
    }
}
