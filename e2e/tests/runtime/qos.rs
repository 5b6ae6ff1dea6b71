//! Injection keeps a pod's QoS class — in the apiserver's `status.qosClass` and where the kubelet
//! puts the pod's cgroup (`<cgroup root>/kubepods/pod<uid>` for Guaranteed,
//! `kubepods/burstable/…`, `kubepods/besteffort/…`) — and the pod runs: on a Guaranteed pod the
//! installer gets requests equal to limits, on a BestEffort pod none.

use std::path::Path;

use anyhow::{Context, Result, ensure};
use k8s_openapi::api::core::v1::Pod;
use respawn_e2e::node;
use respawn_e2e::{Stack, pods, with_ns};
use serde_json::{Value, json};

use crate::create_injected;

fn pod(name: &str, image: &str, resources: Value) -> Pod {
    pods::from_json(json!({
        "metadata": {"name": name},
        "spec": {
            "terminationGracePeriodSeconds": 2,
            "containers": [{"name": "app", "image": image, "resources": resources}]
        }
    }))
}

/// The kubelet's cgroup directory of the pod, in the memory hierarchy.
fn pod_cgroup(stack: &Stack, pod: &Pod, class: &str) -> Result<std::path::PathBuf> {
    let root = stack.var("NODE_CGROUP_ROOT")?;
    let uid = pod.metadata.uid.as_deref().context("no uid")?;
    let tier = match class {
        "Guaranteed" => String::new(),
        other => format!("{}/", other.to_lowercase()),
    };
    let memory = ["/sys/fs/cgroup/memory", "/sys/fs/cgroup"]
        .into_iter()
        .find(|h| Path::new(&format!("{h}{root}")).is_dir())
        .context("no memory cgroup hierarchy with the node's cgroup root")?;
    Ok(format!("{memory}{root}/kubepods/{tier}pod{uid}").into())
}

#[tokio::test]
async fn guaranteed_burstable_and_best_effort_pods_keep_their_class() -> Result<()> {
    let (stack, images, _) = crate::local()?;
    let equal = json!({"cpu": "200m", "memory": "64Mi"});
    let cases = [
        (
            "guaranteed",
            "Guaranteed",
            json!({"requests": equal, "limits": equal}),
        ),
        (
            "burstable",
            "Burstable",
            json!({"requests": {"cpu": "10m", "memory": "16Mi"}}),
        ),
        ("besteffort", "BestEffort", json!({})),
    ];
    with_ns("qos", &[pods::OPT_IN], |ns| async move {
        for (name, _, resources) in &cases {
            create_injected(&ns, &pod(name, &images.sample_app, resources.clone()), images).await?;
        }
        for (name, class, _) in &cases {
            let running = node::wait_running(&ns, name).await?;
            let got = running.status.as_ref().and_then(|s| s.qos_class.clone());
            ensure!(
                got.as_deref() == Some(*class),
                "pod {name}: qosClass {got:?}, want {class}"
            );
            let cgroup = pod_cgroup(stack, &running, class)?;
            ensure!(
                cgroup.is_dir(),
                "pod {name}: the kubelet did not place it at {}",
                cgroup.display()
            );
            let init = running
                .spec
                .as_ref()
                .and_then(|s| s.init_containers.as_ref())
                .and_then(|i| i.iter().find(|c| c.name == pods::INIT_NAME))
                .context("no installer")?;
            let r = init.resources.clone().unwrap_or_default();
            match *class {
                "Guaranteed" => ensure!(
                    r.requests == r.limits
                        && r.limits
                            .as_ref()
                            .is_some_and(|l| l.contains_key("cpu") && l.contains_key("memory")),
                    "{name}: installer resources {r:?}, want cpu and memory requests = limits"
                ),
                "BestEffort" => ensure!(
                    r.requests.is_none() && r.limits.is_none(),
                    "{name}: installer resources {r:?}"
                ),
                _ => ensure!(r.requests != r.limits, "{name}: installer resources {r:?}"),
            }
        }
        Ok(())
    })
    .await
}
