//! Runtime e2e: the injected pod really runs. Each pod is created through the real kube-apiserver
//! (the real webhook mutates it, looking the image's ENTRYPOINT/CMD up in the local registry), read
//! back, and run with `podman kube play` on runc. See `docs/install.md` ("Runtime e2e") for the
//! translation podman needs (`e2e/stack/pod-to-podman.py`).
//!
//! Needs root, podman and runc (`make deps`); run with `make e2e`.

mod runtime_support;

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use k8s_openapi::api::core::v1::Pod;
use respawn_e2e::{Stack, TempNs, pods, with_ns};
use runtime_support::{Images, check_supervisor, images, inspect, play, podman, started_pids, wait_for_log};
use serde_json::json;

const APP_START: &str = "sample-app: started pid=";
const WAIT: Duration = Duration::from_secs(30);
/// Why these tests need the local stack.
const PODMAN: &str = "podman on this host running pods from the local registry";

/// A pod without `command`/`args`: the webhook must take the argv from the image config.
fn app_pod(name: &str, image: &str, annotations: serde_json::Value) -> Pod {
    pods::from_json(json!({
        "metadata": {"name": name, "annotations": annotations},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": false,
            "terminationGracePeriodSeconds": 5,
            "containers": [{"name": "app", "image": image}]
        }
    }))
}

/// Creates the pod through the apiserver, checks it was injected, and plays it.
async fn create_and_play(ns: &TempNs, pod: Pod, images: &Images) -> Result<(Pod, runtime_support::Played)> {
    let stored = ns.create_pod(&pod).await?;
    ensure!(
        pods::is_injected(&stored),
        "the webhook did not inject the pod: {}",
        serde_json::to_string_pretty(&stored)?
    );
    check_supervisor(&stored, images)?;
    let played = play(&stored)?;
    Ok((stored, played))
}

/// `respawn status` inside the container, parsed into (pid, generation).
fn status(ctr: &str) -> Result<(u32, u64)> {
    let text = podman(&["exec", ctr, pods::SUPERVISOR_PATH, "status"])?;
    let field = |name: &str| -> Result<String> {
        text.lines()
            .find_map(|l| {
                l.trim_start_matches("ok ")
                    .strip_prefix(name)
                    .map(|v| v.trim().to_string())
            })
            .with_context(|| format!("no {name} in `respawn status` output:\n{text}"))
    };
    Ok((field("pid:")?.parse()?, field("generation:")?.parse()?))
}

#[tokio::test]
async fn injected_pod_runs_original_argv_and_restarts_in_place() -> Result<()> {
    let stack = Stack::local_only(PODMAN)?;
    let images = images(stack)?;
    with_ns("runtime", &[pods::OPT_IN], |ns| async move {
        let pod = app_pod("sample", &images.sample_app, json!({"respawn.dev/watch": "/app"}));
        let (_stored, played) = create_and_play(&ns, pod, images).await?;
        let ctr = played.ctr("app");

        // The init container copied the supervisor, and the app (no shell in its image) runs the
        // image's ENTRYPOINT + CMD exactly: `$$5` and `$(NOT_A_VAR)` arrive unchanged.
        let logs = wait_for_log(&ctr, APP_START, 1, WAIT)?;
        let want = r#"argv=["--greeting", "it costs $$5 $(NOT_A_VAR)", "--tick", "2"]"#;
        ensure!(
            logs.contains(want),
            "the app did not get its original argv {want}; logs:\n{logs}"
        );
        let first = started_pids(&logs, APP_START)[0];
        ensure!(
            first != 1,
            "the app is PID 1: the supervisor is not in front of it"
        );
        let (pid, generation) = status(&ctr)?;
        ensure!(
            (pid, generation) == (first, 1),
            "status says pid {pid} generation {generation}, the app started as {first}"
        );
        ensure!(
            podman(&["exec", &ctr, "/bin/sh", "-c", "true"]).is_err(),
            "the sample image has a shell; it must prove that no shell is needed"
        );
        let container_id = inspect(&ctr, "{{.Id}}")?;
        let started_at = inspect(&ctr, "{{.State.StartedAt}}")?;

        // `respawn restart` restarts the process in place: same container, new pid, generation 2.
        podman(&["exec", &ctr, pods::SUPERVISOR_PATH, "restart"])?;
        let logs = wait_for_log(&ctr, APP_START, 2, WAIT)?;
        let second = started_pids(&logs, APP_START)[1];
        ensure!(second != first, "the restarted app kept pid {first}");
        ensure!(
            status(&ctr)? == (second, 2),
            "status after restart: {:?}, want ({second}, 2)",
            status(&ctr)?
        );
        ensure!(
            inspect(&ctr, "{{.Id}}")? == container_id,
            "the container was replaced"
        );
        ensure!(
            inspect(&ctr, "{{.State.StartedAt}}")? == started_at,
            "the container itself restarted"
        );

        // A file copied into the watched path restarts it again, and the app sees the file.
        let file = std::env::temp_dir().join(format!("respawn-message-{}", played.name));
        std::fs::write(&file, "synced by podman cp\n")?;
        podman(&["cp", &file.to_string_lossy(), &format!("{ctr}:/app/message")])?;
        let _ = std::fs::remove_file(&file);
        let logs = wait_for_log(&ctr, APP_START, 3, WAIT)?;
        ensure!(
            logs.contains(r#"message=Some("synced by podman cp")"#),
            "the restarted app did not see the copied file:\n{logs}"
        );
        ensure!(
            status(&ctr)?.1 == 3,
            "generation after the file change: {:?}",
            status(&ctr)?
        );
        ensure!(
            inspect(&ctr, "{{.Id}}")? == container_id,
            "the container was replaced"
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn podman_stop_delivers_sigterm_and_the_exit_code_survives() -> Result<()> {
    let stack = Stack::local_only(PODMAN)?;
    let images = images(stack)?;
    with_ns("runtime-stop", &[pods::OPT_IN], |ns| async move {
        let pod = app_pod("shell", &images.sample_shell, json!({}));
        let (_stored, played) = create_and_play(&ns, pod, images).await?;
        let ctr = played.ctr("app");
        // ENTRYPOINT ["/bin/sh", "-c", script, "sample-shell"] + CMD ["hello", "world"]; the `$$`
        // and `$*` of the script reach the shell unchanged.
        let logs = wait_for_log(&ctr, "sample-shell: started pid=", 1, WAIT)?;
        ensure!(
            logs.contains("args=hello world"),
            "the shell app did not get its CMD; logs:\n{logs}"
        );
        podman(&["stop", "--time", "10", &ctr])?;
        let logs = wait_for_log(&ctr, "got SIGTERM, exiting 42", 1, WAIT)?;
        let code = inspect(&ctr, "{{.State.ExitCode}}")?;
        ensure!(
            code == "42",
            "exit code {code}, want 42 (the app's own code through the supervisor); logs:\n{logs}"
        );
        Ok(())
    })
    .await
}
