//! Restarting the process in place on a real node: `kubectl exec POD -- /respawn/respawn restart`
//! (the README's headline), Tilt's trigger file, a watched path and SIGHUP, each written through
//! `kubectl exec` — a new pid and generation every time, while the kubelet sees the same
//! container that never restarted.

use anyhow::{Context, Result, ensure};
use k8s_openapi::api::core::v1::Pod;
use respawn_e2e::node::{self, Kubectl};
use respawn_e2e::{pods, with_ns};
use serde_json::json;

use crate::{APP_START, SHELL_START, app_pod, create_injected, started_pids, status};

/// containerID, restartCount and start time of the app container, as the kubelet reports them.
fn app_container(pod: &Pod) -> Result<(String, i32, String)> {
    let s = node::status(pod, "app").context("no status for container app")?;
    let started = s
        .state
        .as_ref()
        .and_then(|st| st.running.as_ref())
        .and_then(|r| r.started_at.as_ref())
        .map(|t| t.0.to_string())
        .context("container app is not running")?;
    Ok((
        s.container_id.clone().unwrap_or_default(),
        s.restart_count,
        started,
    ))
}

#[tokio::test]
async fn kubectl_exec_respawn_restart_restarts_the_process_not_the_container() -> Result<()> {
    let (_, images, k) = crate::local()?;
    with_ns("restart", &[pods::OPT_IN], |ns| async move {
        create_injected(&ns, &app_pod("sample", &images.sample_app, json!({})), images).await?;
        let before = app_container(&node::wait_running(&ns, "sample").await?)?;
        // The app (no shell in its image) got the image's ENTRYPOINT + CMD exactly.
        let logs = k.wait_for_log(&ns.name, "sample", "app", APP_START, 1)?;
        let want = r#"argv=["--greeting", "it costs $$5 $(NOT_A_VAR)", "--tick", "2"]"#;
        ensure!(logs.contains(want), "the app did not get {want}; logs:\n{logs}");
        let first = started_pids(&logs, APP_START)[0];
        let s = status(&k, &ns.name, "sample")?;
        ensure!(
            (s.pid, s.generation) == (first, 1) && first != 1,
            "status before the restart:\n{}\nthe app started as pid {first}",
            s.text
        );
        ensure!(
            k.exec(&ns.name, "sample", None, &["/bin/sh", "-c", "true"]).is_err(),
            "the sample image has a shell; it must prove that none is needed"
        );

        // Exactly what the README tells users to type, and all kubectl says: no "Defaulted
        // container" notice for the init container (the webhook names the default container).
        let (printed, said) = k.exec_output(&ns.name, "sample", None, &[pods::SUPERVISOR_PATH, "restart"])?;
        ensure!(
            said.trim().is_empty(),
            "kubectl exec printed on stderr: {said}"
        );
        let logs = k.wait_for_log(&ns.name, "sample", "app", APP_START, 2)?;
        let second = started_pids(&logs, APP_START)[1];
        ensure!(second != first, "the restarted app kept pid {first}");
        ensure!(
            printed.trim() == second.to_string(),
            "`respawn restart` printed {printed:?}, the new process is pid {second}"
        );
        let s = status(&k, &ns.name, "sample")?;
        ensure!(
            (s.pid, s.generation) == (second, 2),
            "status after the restart:\n{}\nwant pid {second}, generation 2",
            s.text
        );
        let after = app_container(&ns.pods().get("sample").await?)?;
        ensure!(
            after == before,
            "the kubelet saw the container change: (containerID, restartCount, startedAt) {before:?} -> {after:?}"
        );
        ensure!(before.1 == 0, "restartCount {}", before.1);
        Ok(())
    })
    .await
}

/// Generation of the wrapped process once it has started `n` times.
fn wait_generation(k: &Kubectl, ns: &str, pod: &str, n: usize) -> Result<u32> {
    let logs = k.wait_for_log(ns, pod, "app", SHELL_START, n)?;
    let pid = started_pids(&logs, SHELL_START)[n - 1];
    let s = status(k, ns, pod)?;
    ensure!(
        (s.pid, s.generation) == (pid, n as u64),
        "after start {n}: status\n{}\nbut the log's last start is pid {pid}",
        s.text
    );
    Ok(pid)
}

#[tokio::test]
async fn trigger_file_watched_path_and_sighup_through_kubectl_exec() -> Result<()> {
    let (_, images, k) = crate::local()?;
    with_ns("triggers", &[pods::OPT_IN], |ns| async move {
        let pod = pods::from_json(json!({
            "metadata": {"name": "shell", "annotations": {"respawn.dev/watch": "/app"}},
            "spec": {
                "terminationGracePeriodSeconds": 5,
                "volumes": [{"name": "src", "emptyDir": {}}],
                "containers": [{"name": "app", "image": images.sample_shell,
                                "volumeMounts": [{"name": "src", "mountPath": "/app"}]}]
            }
        }));
        create_injected(&ns, &pod, images).await?;
        node::wait_running(&ns, "shell").await?;
        let first = wait_generation(&k, &ns.name, "shell", 1)?;

        // Tilt's restart_process convention: its last live_update step.
        k.exec(
            &ns.name,
            "shell",
            None,
            &["/bin/sh", "-c", "busybox date > /tmp/.restart-proc"],
        )?;
        let second = wait_generation(&k, &ns.name, "shell", 2)?;
        // A file synced into the watched path.
        k.exec(
            &ns.name,
            "shell",
            None,
            &["/bin/sh", "-c", "echo v2 > /app/main.txt"],
        )?;
        let third = wait_generation(&k, &ns.name, "shell", 3)?;
        // SIGHUP to PID 1, the docker-entrypoint convention.
        k.exec(&ns.name, "shell", None, &["/bin/busybox", "kill", "-HUP", "1"])?;
        let fourth = wait_generation(&k, &ns.name, "shell", 4)?;
        let pids = [first, second, third, fourth];
        ensure!(
            (1..4).all(|i| !pids[..i].contains(&pids[i])),
            "a restart kept an old pid: {pids:?}"
        );
        let pod = ns.pods().get("shell").await?;
        let restarts = node::status(&pod, "app").map(|s| s.restart_count);
        ensure!(restarts == Some(0), "container restartCount {restarts:?}");
        Ok(())
    })
    .await
}
