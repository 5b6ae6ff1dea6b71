//! Workloads on a real node: a Deployment's pods (controller-manager → ReplicaSet → Pod, placed by
//! kube-scheduler) run wrapped and `kubectl exec deploy/NAME` restarts them; a pod with a native
//! sidecar (`initContainers[].restartPolicy: Always`) runs, the sidecar unwrapped.

use anyhow::{Context, Result, ensure};
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{ListParams, PostParams};
use respawn_e2e::node;
use respawn_e2e::webhooks::eventually;
use respawn_e2e::{pods, with_ns};
use serde_json::json;

use crate::{APP_START, SHELL_START, create_injected, status};

#[tokio::test]
async fn deployment_pods_run_wrapped() -> Result<()> {
    let (_, images, k) = crate::local()?;
    with_ns("deploy-run", &[pods::OPT_IN], |ns| async move {
        let deployment: Deployment = serde_json::from_value(json!({
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"terminationGracePeriodSeconds": 5,
                             "containers": [{"name": "web", "image": images.sample_app}]}
                }
            }
        }))?;
        ns.api::<Deployment>()
            .create(&PostParams::default(), &deployment)
            .await?;
        let list = ListParams::default().labels("app=web");
        eventually("the Deployment's two pods exist", node::RUN_TIMEOUT, || async {
            Ok(ns.pods().list(&list).await?.items.len() == 2)
        })
        .await?;
        for pod in ns.pods().list(&list).await?.items {
            let name = pod.metadata.name.clone().context("no name")?;
            ensure!(pods::is_injected(&pod), "{name} is not injected");
            let running = node::wait_running(&ns, &name).await?;
            let on = running.spec.as_ref().and_then(|s| s.node_name.clone());
            ensure!(on.as_deref() == Some("127.0.0.1"), "{name} scheduled to {on:?}");
            k.wait_for_log(&ns.name, &name, "web", APP_START, 1)?;
            ensure!(status(&k, &ns.name, &name)?.generation == 1, "{name}");
        }
        // kubectl picks one of the Deployment's pods.
        k.exec(&ns.name, "deploy/web", None, &[pods::SUPERVISOR_PATH, "restart"])?;
        let mut generations = Vec::new();
        for pod in ns.pods().list(&list).await?.items {
            generations
                .push(status(&k, &ns.name, pod.metadata.name.as_deref().unwrap_or_default())?.generation);
        }
        generations.sort();
        ensure!(
            generations == [1, 2],
            "generations after one restart: {generations:?}"
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn native_sidecar_runs_untouched() -> Result<()> {
    let (_, images, k) = crate::local()?;
    with_ns("sidecar", &[pods::OPT_IN], |ns| async move {
        let pod = pods::from_json(json!({
            "metadata": {"name": "with-sidecar"},
            "spec": {
                "terminationGracePeriodSeconds": 5,
                "initContainers": [{"name": "sidecar", "image": images.sample_shell, "restartPolicy": "Always"}],
                "containers": [{"name": "app", "image": images.sample_app}]
            }
        }));
        let stored = create_injected(&ns, &pod, images).await?;
        let spec = stored.spec.as_ref().context("no spec")?;
        let inits: Vec<_> = spec.init_containers.iter().flatten().map(|c| c.name.as_str()).collect();
        ensure!(inits == [pods::INIT_NAME, "sidecar"], "init containers: {inits:?}");
        let sidecar = &spec.init_containers.as_ref().context("no init containers")?[1];
        let respawn_mount = sidecar.volume_mounts.iter().flatten().any(|m| m.name == pods::VOLUME_NAME);
        let respawn_env = sidecar.env.iter().flatten().any(|e| e.name.starts_with("RESPAWN_"));
        ensure!(
            sidecar.command.is_none() && sidecar.args.is_none() && !respawn_mount && !respawn_env,
            "the sidecar was changed: {sidecar:?}"
        );
        let running = node::wait_running(&ns, "with-sidecar").await?;
        let s = node::status(&running, "sidecar").context("no sidecar status")?;
        ensure!(
            s.started == Some(true) && s.state.as_ref().and_then(|st| st.running.as_ref()).is_some(),
            "the sidecar is not running:\n{}",
            node::describe(&running)
        );
        // The sidecar's shell is its container's PID 1: no supervisor in front of it.
        let logs = k.wait_for_log(&ns.name, "with-sidecar", "sidecar", SHELL_START, 1)?;
        ensure!(logs.contains(&format!("{SHELL_START}1 ")), "sidecar log:\n{logs}");
        k.wait_for_log(&ns.name, "with-sidecar", "app", APP_START, 1)?;
        ensure!(status(&k, &ns.name, "with-sidecar")?.generation == 1);
        Ok(())
    })
    .await
}
