//! Probe-aware restarts on the real node: the webhook rewrites a wrapped container's liveness
//! probe to `exec: [/respawn/respawn, probe, …]`, and the kubelet runs it. Each case runs next to
//! the same pod with `respawn.dev/probes: keep` (wrapped by respawn, probe as written, checked by
//! the kubelet itself): what respawn's handling changes is the difference between the two.
//!
//! The pods are `hostNetwork`: this node's pods have only `lo`, so the kubelet's own httpGet can
//! reach a pod only in the host's network namespace (docs/node.md). Each app serves busybox httpd
//! on its own 127.0.0.1 port, named `http` in the container's ports; the liveness probe is an
//! httpGet of `/healthz` on that named port every second, killing after 3 failures.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use k8s_openapi::api::core::v1::Pod;
use respawn_e2e::node::{self, Kubectl};
use respawn_e2e::{TempNs, pods, with_ns};
use serde_json::{Value, json};

use crate::status;

/// The kubelet's liveness window of these pods: `failureThreshold × periodSeconds`.
const WINDOW: Duration = Duration::from_secs(3);
/// How long a restart of the slow app takes: its SIGTERM handler stops serving, then drains.
const DRAIN_SECONDS: u64 = 7;

/// A free port for this pod's httpd (host network: every pod and the stack share the host's
/// ports): one the kernel hands out for 127.0.0.1:0, released for httpd to take.
fn port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// The app's shell script: serves /healthz with httpd on `port`. With `drain`, SIGTERM stops
/// httpd at once and the script exits only `DRAIN_SECONDS` later — a restart longer than the
/// liveness window, during which nothing answers.
fn script(port: u16, drain: bool) -> String {
    let serve = "/bin/busybox mkdir -p /tmp/www && echo ok > /tmp/www/healthz";
    let httpd = format!("/bin/busybox httpd -f -p 127.0.0.1:{port} -h /tmp/www");
    if drain {
        format!(
            "{serve}; {httpd} & trap '/bin/busybox kill $!; /bin/busybox sleep {DRAIN_SECONDS}; exit 0' TERM; wait"
        )
    } else {
        format!("{serve}; exec {httpd}")
    }
}

/// A hostNetwork pod running `script` with an httpGet liveness probe on the named port `http`.
fn probe_pod(name: &str, image: &str, script: &str, port: u16, keep: bool) -> Pod {
    let mut annotations = json!({"respawn.dev/stop-timeout": "30s"});
    if keep {
        annotations["respawn.dev/probes"] = json!("keep");
    }
    pods::from_json(json!({
        "metadata": {"name": name, "annotations": annotations},
        "spec": {
            "hostNetwork": true,
            "terminationGracePeriodSeconds": 1,
            "containers": [{
                "name": "app",
                "image": image,
                "command": ["/bin/sh", "-c", script],
                "ports": [{"name": "http", "containerPort": port}],
                "livenessProbe": {
                    "httpGet": {"port": "http", "path": "/healthz"},
                    "periodSeconds": 1,
                    "failureThreshold": WINDOW.as_secs(),
                    "timeoutSeconds": 1
                }
            }]
        }
    }))
}

/// The liveness probe as stored.
fn liveness(pod: &Pod) -> Result<Value> {
    let c = pods::container(pod, "app")?;
    Ok(serde_json::to_value(
        c.liveness_probe.as_ref().context("no liveness probe")?,
    )?)
}

/// Creates both pods (respawn's probe handling, and `keep`), checks the stored probes, and waits
/// until both run.
async fn create_pair(ns: &TempNs, image: &str, drain: bool) -> Result<(u16, u16)> {
    let (ours, theirs) = (port(), port());
    let stored = ns
        .create_pod(&probe_pod("ours", image, &script(ours, drain), ours, false))
        .await?;
    ensure!(pods::is_injected(&stored), "not injected");
    let probe = liveness(&stored)?;
    let want = [
        "/respawn/respawn",
        "probe",
        "--grace",
        "3s",
        "--timeout",
        "1s",
        "--http-get",
        &ours.to_string(),
        "--path",
        "/healthz",
    ];
    ensure!(
        probe["exec"]["command"] == json!(want),
        "the stored liveness probe is {probe:#}, want exec {want:?} (the named port resolved)"
    );
    ensure!(
        probe["periodSeconds"] == 1 && probe["failureThreshold"] == 3 && probe["timeoutSeconds"] == 1,
        "the probe's timing changed: {probe:#}"
    );
    let kept = ns
        .create_pod(&probe_pod("kept", image, &script(theirs, drain), theirs, true))
        .await?;
    ensure!(pods::is_injected(&kept), "the keep pod is not injected");
    let probe = liveness(&kept)?;
    ensure!(
        probe["httpGet"]["port"] == "http",
        "respawn.dev/probes: keep changed the probe: {probe:#}"
    );
    node::wait_running(ns, "ours").await?;
    node::wait_running(ns, "kept").await?;
    Ok((ours, theirs))
}

fn restarts(pod: &Pod) -> i32 {
    node::status(pod, "app").map_or(0, |s| s.restart_count)
}

/// Waits until the kubelet restarted the container of each pod in `names` (liveness killed it),
/// at most `within` after `since`; returns when each was first seen killed, after `since`.
async fn wait_killed(ns: &TempNs, names: &[&str], since: Instant, within: Duration) -> Result<Vec<Duration>> {
    let mut seen: Vec<Option<Duration>> = vec![None; names.len()];
    loop {
        for (name, seen) in names.iter().zip(seen.iter_mut()) {
            if seen.is_none() {
                let pod = ns.pods().get(name).await?;
                if restarts(&pod) > 0 {
                    *seen = Some(since.elapsed());
                } else {
                    ensure!(
                        since.elapsed() < within,
                        "liveness did not kill {name} within {within:?}:\n{}",
                        node::describe(&pod)
                    );
                }
            }
        }
        if seen.iter().all(Option::is_some) {
            return Ok(seen.into_iter().flatten().collect());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// An app whose restart takes longer than its liveness window: through `respawn probe` it
/// survives `respawn restart` with `restartCount` 0 and its new generation serves; with the probe
/// as written, the kubelet kills the same pod during the same restart. Also: the HTTP liveness
/// probe on a named port passes through `respawn probe` while the app runs.
#[tokio::test]
async fn a_restart_longer_than_the_liveness_window_is_not_killed() -> Result<()> {
    let (_, images, k) = crate::local()?;
    with_ns("probe-slow", &[pods::OPT_IN], |ns| async move {
        create_pair(&ns, &images.sample_shell, true).await?;
        // Both probes pass while the apps run: several windows without a restart.
        tokio::time::sleep(WINDOW * 2).await;
        for name in ["ours", "kept"] {
            let pod = ns.pods().get(name).await?;
            ensure!(
                restarts(&pod) == 0,
                "{name} was restarted while its app served:\n{}",
                node::describe(&pod)
            );
        }

        // Both restarts at once, each `kubectl exec … respawn restart` in a thread of its own
        // (it returns when the new generation started); the kept pod is watched meanwhile.
        let t = Instant::now();
        let restart = |pod: &'static str| {
            let (ns_name, k) = (ns.name.clone(), Kubectl::of(crate::local()?.0)?);
            anyhow::Ok(std::thread::spawn(move || {
                let r = k.exec(&ns_name, pod, None, &[pods::SUPERVISOR_PATH, "restart"]);
                (r, t.elapsed())
            }))
        };
        let (ours_restart, kept_restart) = (restart("ours")?, restart("kept")?);
        let killed_after = wait_killed(&ns, &["kept"], t, Duration::from_secs(DRAIN_SECONDS + 20)).await?[0];
        // The keep pod's container may be killed under its exec: that result is not the point.
        kept_restart.join().ok();
        let (result, took) = ours_restart.join().map_err(|_| anyhow::anyhow!("the exec thread panicked"))?;
        result.context("kubectl exec ours -- respawn restart")?;
        ensure!(
            took > WINDOW,
            "the restart took {took:?}, not longer than the liveness window {WINDOW:?}: the test proves nothing"
        );

        // Ours: a window and more after the restart, still the same container, generation 2,
        // its new process serving (the probe checks it again after the grace).
        tokio::time::sleep(WINDOW * 2).await;
        let pod = ns.pods().get("ours").await?;
        ensure!(
            restarts(&pod) == 0,
            "liveness killed the container although respawn was restarting it (the keep pod was killed after {killed_after:?}):\n{}",
            node::describe(&pod)
        );
        let s = status(&k, &ns.name, "ours")?;
        ensure!(s.generation == 2, "ours after the restart:\n{}", s.text);
        eprintln!(
            "probe-slow: restart took {took:?}; the keep pod was killed {killed_after:?} after the restart began; ours: restartCount 0, generation 2"
        );
        Ok(())
    })
    .await
}

/// An app that truly hangs — no restart in progress — is still killed by its liveness probe
/// through `respawn probe`, as the kubelet's own probe kills the keep pod.
#[tokio::test]
async fn a_hung_app_is_still_killed_by_liveness() -> Result<()> {
    let (_, images, k) = crate::local()?;
    with_ns("probe-hang", &[pods::OPT_IN], |ns| async move {
        create_pair(&ns, &images.sample_shell, false).await?;
        // Freeze each httpd (the supervised process itself: the script execs it). The kernel
        // still accepts connections; nothing answers them.
        let t = Instant::now();
        for name in ["ours", "kept"] {
            let pid = status(&k, &ns.name, name)?.pid;
            k.exec(&ns.name, name, None, &["/bin/busybox", "kill", "-STOP", &pid.to_string()])?;
        }
        let limit = WINDOW + Duration::from_secs(20);
        let killed = wait_killed(&ns, &["ours", "kept"], t, limit).await?;
        let (ours, kept) = (killed[0], killed[1]);
        let pod = ns.pods().get("ours").await?;
        let events = k.run(&["-n", &ns.name, "get", "events", "--field-selector", "involvedObject.name=ours", "-o", "json"])?;
        // The message is respawn's (`respawn: probe failed: …`) or the kubelet's own when the
        // exec as a whole overran timeoutSeconds; either is a failed liveness probe.
        ensure!(
            events.contains("Liveness probe failed"),
            "no failed liveness probe in the kubelet's events of ours:\n{events}\n{}",
            node::describe(&pod)
        );
        eprintln!("probe-hang: killed by liveness after {ours:?} through respawn probe, {kept:?} with the kubelet's httpGet");
        Ok(())
    })
    .await
}
