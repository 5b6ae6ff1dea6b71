//! Which documents hold a pod, and where: a Pod is one, the workload kinds hold a pod template
//! (`metadata` + `spec`, the shape of a pod) at a fixed path. Lists (`kind: List`, or any
//! `...List` with `items`) hold documents. Matched by API group and kind, any version, so a
//! custom resource that happens to be called `Deployment` is left alone.

use serde_json::Value;

/// Kinds whose pod is injected, by (API group, kind): where the pod (template) is.
const PODS: [(&str, &str, &[&str]); 8] = [
    ("", "Pod", &[]),
    ("", "ReplicationController", &["spec", "template"]),
    ("apps", "Deployment", &["spec", "template"]),
    ("apps", "StatefulSet", &["spec", "template"]),
    ("apps", "DaemonSet", &["spec", "template"]),
    ("apps", "ReplicaSet", &["spec", "template"]),
    ("batch", "Job", &["spec", "template"]),
    ("batch", "CronJob", &["spec", "jobTemplate", "spec", "template"]),
];

/// The kinds covered, `group/kind` (for help and docs).
pub fn covered() -> impl Iterator<Item = String> {
    PODS.iter().map(|(g, k, _)| match g {
        &"" => format!("v1/{k}"),
        g => format!("{g}/{k}"),
    })
}

/// The API group of an `apiVersion` (`v1` → core, `""`).
fn group(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

/// The `kind` of a document.
pub fn kind(doc: &Value) -> &str {
    doc.get("kind").and_then(Value::as_str).unwrap_or("")
}

/// Where the pod of this document is, as path tokens from the document (empty: the document
/// itself); `None` when the document holds no pod.
pub fn pod_path(doc: &Value) -> Option<&'static [&'static str]> {
    let api_version = doc.get("apiVersion").and_then(Value::as_str)?;
    let (g, k) = (group(api_version), kind(doc));
    PODS.iter()
        .find(|(pg, pk, _)| *pg == g && *pk == k)
        .map(|(_, _, path)| *path)
}

/// The items of a List document, `None` for other documents.
pub fn list_items(doc: &mut Value) -> Option<&mut Vec<Value>> {
    if !kind(doc).ends_with("List") {
        return None;
    }
    doc.get_mut("items").and_then(Value::as_array_mut)
}

/// Follows `path` to the object there (`None` when something on the way is missing or not an
/// object).
pub fn at_mut<'a>(doc: &'a mut Value, path: &[&str]) -> Option<&'a mut Value> {
    path.iter()
        .try_fold(doc, |v, token| v.get_mut(*token))
        .filter(|v| v.is_object())
}

/// `Kind namespace/name` (or `Kind name` without a namespace) for messages.
pub fn describe(doc: &Value) -> String {
    let meta = doc.get("metadata");
    let get = |f: &str| meta.and_then(|m| m.get(f)).and_then(Value::as_str);
    let name = get("name")
        .map(str::to_string)
        .or_else(|| get("generateName").map(|g| format!("{g}*")))
        .unwrap_or_else(|| "<unnamed>".into());
    match get("namespace") {
        Some(ns) => format!("{} {ns}/{name}", kind(doc)),
        None => format!("{} {name}", kind(doc)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pods_are_found_by_group_and_kind() {
        let path = |v: Value| pod_path(&v);
        assert_eq!(path(json!({"apiVersion": "v1", "kind": "Pod"})), Some(&[][..]));
        assert_eq!(
            path(json!({"apiVersion": "apps/v1", "kind": "Deployment"})),
            Some(&["spec", "template"][..])
        );
        assert_eq!(
            path(json!({"apiVersion": "batch/v1", "kind": "CronJob"})),
            Some(&["spec", "jobTemplate", "spec", "template"][..])
        );
        assert_eq!(
            path(json!({"apiVersion": "example.com/v1", "kind": "Deployment"})),
            None
        );
        assert_eq!(path(json!({"apiVersion": "v1", "kind": "Service"})), None);
        assert_eq!(path(json!({"kind": "Pod"})), None);
        assert_eq!(covered().count(), 8);
    }

    #[test]
    fn lists_and_paths() {
        let mut list = json!({"apiVersion": "v1", "kind": "List", "items": [{"a": 1}]});
        assert_eq!(list_items(&mut list).map(|i| i.len()), Some(1));
        assert!(list_items(&mut json!({"kind": "Pod", "items": []})).is_none());
        let mut d = json!({"spec": {"template": {"spec": {}}, "x": 1}});
        assert!(at_mut(&mut d, &["spec", "template"]).is_some());
        assert!(at_mut(&mut d, &["spec", "x"]).is_none());
        assert!(at_mut(&mut d, &["spec", "jobTemplate"]).is_none());
        assert_eq!(
            describe(&json!({"kind": "Job", "metadata": {"name": "j", "namespace": "n"}})),
            "Job n/j"
        );
        assert_eq!(
            describe(&json!({"kind": "Pod", "metadata": {"generateName": "p-"}})),
            "Pod p-*"
        );
    }
}
