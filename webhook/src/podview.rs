//! A lean, read-only view of a Pod: only the fields the mutation reads, with k8s-openapi's field
//! names and shapes. serde skips everything else without allocating, which makes reading an
//! AdmissionReview several times cheaper than a full `k8s_openapi` Pod (status, managedFields,
//! tolerations, probes, resources … are never materialised). Presence (`Option`) is kept
//! wherever the patch must know whether a parent exists.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The Pod fields the webhook reads.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Pod {
    /// metadata
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// spec
    #[serde(default)]
    pub spec: Option<PodSpec>,
}

/// `metadata` subset.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// `name`; absent for pods a controller creates.
    #[serde(default)]
    pub name: Option<String>,
    /// `generateName`.
    #[serde(default)]
    pub generate_name: Option<String>,
    /// `namespace`.
    #[serde(default)]
    pub namespace: Option<String>,
    /// `labels`.
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    /// `annotations`.
    #[serde(default)]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// `spec` subset.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    /// `containers`.
    #[serde(default)]
    pub containers: Vec<Container>,
    /// `initContainers`.
    #[serde(default)]
    pub init_containers: Option<Vec<Container>>,
    /// `ephemeralContainers` (names only matter).
    #[serde(default)]
    pub ephemeral_containers: Option<Vec<Named>>,
    /// `volumes` (names only matter).
    #[serde(default)]
    pub volumes: Option<Vec<Named>>,
    /// `nodeSelector`.
    #[serde(default)]
    pub node_selector: Option<BTreeMap<String, String>>,
    /// `os`.
    #[serde(default)]
    pub os: Option<Named>,
    /// `imagePullSecrets`.
    #[serde(default)]
    pub image_pull_secrets: Option<Vec<Named>>,
    /// `serviceAccountName`.
    #[serde(default)]
    pub service_account_name: Option<String>,
}

/// Anything identified by `name` (volumes, pull secrets, `os`, ephemeral containers, env vars).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Named {
    /// `name`.
    #[serde(default)]
    pub name: String,
}

/// `containers[*]` / `initContainers[*]` subset.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    /// `name`.
    #[serde(default)]
    pub name: String,
    /// `image`.
    #[serde(default)]
    pub image: Option<String>,
    /// `command`.
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// `args`.
    #[serde(default)]
    pub args: Option<Vec<String>>,
    /// `env` (names only matter).
    #[serde(default)]
    pub env: Option<Vec<Named>>,
    /// `volumeMounts`.
    #[serde(default)]
    pub volume_mounts: Option<Vec<VolumeMount>>,
}

/// `volumeMounts[*]` subset.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeMount {
    /// `mountPath`.
    #[serde(default)]
    pub mount_path: String,
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
