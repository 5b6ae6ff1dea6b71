//! A lean, read-only view of a Pod: only the fields the mutation reads, with k8s-openapi's field
//! names and shapes. serde skips everything else without allocating, which makes reading an
//! AdmissionReview several times cheaper than a full `k8s_openapi` Pod (status, managedFields,
//! tolerations, probes, resources … are never materialised). Presence (`Option`) is kept
//! wherever the patch must know whether a parent exists.
//!
//! Strings are [`Str`]: the hot-path reader (`crate::fastjson`) borrows every string without an
//! escape straight from the request body, so reading a review allocates only for the lists and
//! maps; serde (the fallback, and tests) fills them owned.

use std::{borrow::Cow, collections::BTreeMap};

use serde::Deserialize;

/// A string of the view: borrowed from the request body, or owned.
pub type Str<'a> = Cow<'a, str>;

/// The Pod fields the webhook reads.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Pod<'a> {
    /// metadata
    #[serde(default)]
    pub metadata: ObjectMeta<'a>,
    /// spec
    #[serde(default)]
    pub spec: Option<PodSpec<'a>>,
}

/// `metadata` subset.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta<'a> {
    /// `name`; absent for pods a controller creates.
    #[serde(default)]
    pub name: Option<Str<'a>>,
    /// `generateName`.
    #[serde(default)]
    pub generate_name: Option<Str<'a>>,
    /// `namespace`.
    #[serde(default)]
    pub namespace: Option<Str<'a>>,
    /// `labels`.
    #[serde(default)]
    pub labels: Option<BTreeMap<Str<'a>, Str<'a>>>,
    /// `annotations`.
    #[serde(default)]
    pub annotations: Option<BTreeMap<Str<'a>, Str<'a>>>,
}

/// `spec` subset.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec<'a> {
    /// `containers`.
    #[serde(default)]
    pub containers: Vec<Container<'a>>,
    /// `initContainers`.
    #[serde(default)]
    pub init_containers: Option<Vec<Container<'a>>>,
    /// `ephemeralContainers` (names only matter).
    #[serde(default)]
    pub ephemeral_containers: Option<Vec<Named<'a>>>,
    /// `volumes` (names only matter).
    #[serde(default)]
    pub volumes: Option<Vec<Named<'a>>>,
    /// `nodeSelector`.
    #[serde(default)]
    pub node_selector: Option<BTreeMap<Str<'a>, Str<'a>>>,
    /// `os`.
    #[serde(default)]
    pub os: Option<Named<'a>>,
    /// `imagePullSecrets`.
    #[serde(default)]
    pub image_pull_secrets: Option<Vec<Named<'a>>>,
    /// `serviceAccountName`.
    #[serde(default)]
    pub service_account_name: Option<Str<'a>>,
}

/// Anything identified by `name` (volumes, pull secrets, `os`, ephemeral containers, env vars).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Named<'a> {
    /// `name`.
    #[serde(default)]
    pub name: Str<'a>,
}

/// `containers[*]` / `initContainers[*]` subset.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container<'a> {
    /// `name`.
    #[serde(default)]
    pub name: Str<'a>,
    /// `image`.
    #[serde(default)]
    pub image: Option<Str<'a>>,
    /// `command`.
    #[serde(default)]
    pub command: Option<Vec<Str<'a>>>,
    /// `args`.
    #[serde(default)]
    pub args: Option<Vec<Str<'a>>>,
    /// `env` (names only matter).
    #[serde(default)]
    pub env: Option<Vec<Named<'a>>>,
    /// `volumeMounts`.
    #[serde(default)]
    pub volume_mounts: Option<Vec<VolumeMount<'a>>>,
}

/// `volumeMounts[*]` subset.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeMount<'a> {
    /// `mountPath`.
    #[serde(default)]
    pub mount_path: Str<'a>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_matters_and_keeps_presence() {
        let p: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"generateName": "w-", "labels": {"a": "b"}},
            "spec": {"containers": [{"name": "c", "image": "i", "args": [], "ports": [{"containerPort": 1}]}],
                     "tolerations": [{"key": "k"}], "os": {"name": "linux"}},
            "status": {"phase": "Pending"}
        }))
        .unwrap();
        assert!(p.metadata.annotations.is_none());
        let spec = p.spec.unwrap();
        assert_eq!(spec.containers[0].args, Some(vec![]));
        assert!(spec.containers[0].volume_mounts.is_none() && spec.volumes.is_none());
        assert_eq!(spec.os.unwrap().name, "linux");
        assert!(serde_json::from_value::<Pod>(serde_json::json!({"spec": {"containers": "nope"}})).is_err());
    }
}
