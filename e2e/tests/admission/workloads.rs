//! Pods that come from workloads: a real Deployment (kube-controller-manager creates the
//! ReplicaSet and its pods), and a pod spelled exactly as a ReplicaSet creates one.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{ListParams, PostParams};
use respawn_e2e::pods::{self, OPT_IN, assert_injected};
use respawn_e2e::webhooks::eventually;
use respawn_e2e::with_ns;
use serde_json::json;

#[tokio::test]
async fn deployment_pods_are_injected_and_the_template_is_not() -> Result<()> {
    let image = crate::image("oci")?;
    with_ns("deployment", &[OPT_IN], |ns| async move {
        let deployment: Deployment = serde_json::from_value(json!({
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": image}]}
                }
            }
        }))?;
        let stored = ns
            .api::<Deployment>()
            .create(&PostParams::default(), &deployment)
            .await?;
        let template = stored.spec.context("no spec")?.template;
        ensure!(
            template
                .spec
                .as_ref()
                .and_then(|s| s.init_containers.as_ref())
                .is_none(),
            "the Deployment's template was mutated"
        );

        let list = ListParams::default().labels("app=web");
        eventually(
            "the controller-manager creates the pod",
            Duration::from_secs(60),
            || async { Ok(!ns.pods().list(&list).await?.items.is_empty()) },
        )
        .await?;
        let pod = ns.pods().list(&list).await?.items.remove(0);
        let owner = pod.metadata.owner_references.as_deref().unwrap_or_default();
        ensure!(
            owner
                .iter()
                .any(|o| o.kind == "ReplicaSet" && o.controller == Some(true)),
            "owner: {owner:?}"
        );
        ensure!(
            pod.metadata
                .generate_name
                .as_deref()
                .is_some_and(|g| g.starts_with("web-")),
            "no generateName"
        );
        assert_injected(&pod, "web", &["/bin/busybox", "sleep", "3600"])
    })
    .await
}

/// Without a name: `generateName`, a controller owner reference, the pod-template-hash label.
#[tokio::test]
async fn pod_as_a_replicaset_creates_it() -> Result<()> {
    let image = crate::image("oci")?;
    with_ns("rs-pod", &[OPT_IN], |ns| async move {
        let pod: Pod = pods::from_json(json!({
            "metadata": {
                "generateName": "web-7c9d8f6b5-",
                "labels": {"app": "web", "pod-template-hash": "7c9d8f6b5"},
                "ownerReferences": [{
                    "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7c9d8f6b5",
                    "uid": "4b3c1f2e-0d6a-4e8b-9f7c-2a1b3c4d5e6f", "controller": true, "blockOwnerDeletion": true
                }]
            },
            "spec": {"containers": [{"name": "web", "image": image, "args": ["120"]}]}
        }));
        let stored = ns.create_pod(&pod).await?;
        let name = stored.metadata.name.clone().unwrap_or_default();
        ensure!(name.starts_with("web-7c9d8f6b5-") && name.len() > "web-7c9d8f6b5-".len(), "generated name {name:?}");
        assert_injected(&stored, "web", &["/bin/busybox", "sleep", "120"])
    })
    .await
}
