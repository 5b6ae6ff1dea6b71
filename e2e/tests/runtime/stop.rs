//! `kubectl delete pod` on a real node: the kubelet's SIGTERM reaches the app through respawn,
//! the app's own exit code lands in the container's terminated state, and the pod is gone well
//! within its grace period.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{WatchEvent, WatchParams};
use respawn_e2e::node;
use respawn_e2e::{pods, with_ns};
use serde_json::json;

use crate::{SHELL_START, create_injected};

/// The pod's grace period: the app must be gone long before it ends.
const GRACE: u64 = 30;

#[tokio::test]
async fn kubectl_delete_pod_sends_sigterm_through_respawn_and_keeps_the_exit_code() -> Result<()> {
    let (_, images, k) = crate::local()?;
    with_ns("stop", &[pods::OPT_IN], |ns| async move {
        let pod = pods::from_json(json!({
            "metadata": {"name": "shell"},
            "spec": {
                "restartPolicy": "Never",
                "terminationGracePeriodSeconds": GRACE,
                "containers": [{"name": "app", "image": images.sample_shell}]
            }
        }));
        create_injected(&ns, &pod, images).await?;
        let running = node::wait_running(&ns, "shell").await?;
        // ENTRYPOINT ["/bin/sh", "-c", script, "sample-shell"] + CMD ["hello", "world"]
        let logs = k.wait_for_log(&ns.name, "shell", "app", SHELL_START, 1)?;
        ensure!(
            logs.contains("args=hello world"),
            "the shell app did not get its CMD:\n{logs}"
        );

        // Watch the pod from its current version until it is deleted: the kubelet reports the
        // terminated container before it removes the pod.
        let version = running
            .metadata
            .resource_version
            .clone()
            .context("no resourceVersion")?;
        let params = WatchParams::default().fields("metadata.name=shell").timeout(120);
        let mut stream = ns.pods().watch(&params, &version).await?.boxed();
        let watcher = tokio::spawn(async move {
            let mut last: Option<Pod> = None;
            while let Some(event) = stream.try_next().await? {
                match event {
                    WatchEvent::Modified(p) => last = Some(p),
                    WatchEvent::Deleted(p) => return Ok::<_, anyhow::Error>((last, Some(p))),
                    _ => {}
                }
            }
            Ok((last, None))
        });

        let start = Instant::now();
        // As a user types it: waits until the pod is gone.
        k.run(&["-n", &ns.name, "delete", "pod", "shell", "--timeout", "120s"])?;
        let took = start.elapsed();
        let (last, deleted) = tokio::time::timeout(Duration::from_secs(30), watcher).await???;
        ensure!(deleted.is_some(), "the watch ended without the pod's deletion");
        let seen = deleted.or(last).context("no pod version seen")?;
        let terminated = node::status(&seen, "app")
            .and_then(|s| s.state.as_ref()?.terminated.clone())
            .with_context(|| {
                format!(
                    "the last pod version has no terminated app container:\n{}",
                    node::describe(&seen)
                )
            })?;
        ensure!(
            terminated.exit_code == 42,
            "exit code {} (want 42: the app's own code, set by its SIGTERM trap):\n{}",
            terminated.exit_code,
            node::describe(&seen)
        );
        ensure!(
            took < Duration::from_secs(GRACE),
            "kubectl delete took {took:?}, the grace period is {GRACE} s: SIGTERM did not reach the app"
        );
        eprintln!("runtime: kubectl delete pod returned after {took:?} (grace period {GRACE} s)");
        Ok(())
    })
    .await
}
