//! Pods on the stack's node (`e2e/stack/node.sh`: containerd + kubelet): waiting for them to run,
//! and the `kubectl` a user would type — exec, logs, delete — with the stack's own kubectl
//! (built by `e2e/stack/build-kube.sh`) and kubeconfig.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};

use crate::{Stack, TempNs};

/// How long a pod may take to run on the node (images come from the local registry).
pub const RUN_TIMEOUT: Duration = Duration::from_secs(90);

/// Container waiting reasons that will not clear up by themselves: waiting for a pod that shows
/// one fails at once, with the kubelet's message.
const STUCK: &[&str] = &[
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
    "CrashLoopBackOff",
];

/// The stack's kubectl with its kubeconfig.
pub struct Kubectl {
    bin: String,
    kubeconfig: String,
}

impl Kubectl {
    /// The kubectl the stack recorded (`KUBECTL` in stack.env).
    pub fn of(stack: &Stack) -> Result<Kubectl> {
        Ok(Kubectl {
            bin: stack.var("KUBECTL")?.to_string(),
            kubeconfig: stack.var("KUBECONFIG")?.to_string(),
        })
    }

    /// `kubectl ARGS...` that must succeed; fails with the command line, stdout and stderr.
    fn succeed(&self, args: &[&str]) -> Result<std::process::Output> {
        let out = Command::new(&self.bin)
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .output()
            .with_context(|| format!("running {}", self.bin))?;
        if !out.status.success() {
            bail!(
                "`kubectl {}` failed ({}): {}{}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr).trim_end()
            );
        }
        Ok(out)
    }

    /// `kubectl ARGS...`: stdout as bytes.
    pub fn raw(&self, args: &[&str]) -> Result<Vec<u8>> {
        Ok(self.succeed(args)?.stdout)
    }

    /// `kubectl ARGS...` with stdout as text.
    pub fn run(&self, args: &[&str]) -> Result<String> {
        Ok(String::from_utf8_lossy(&self.raw(args)?).into_owned())
    }

    /// `kubectl -n NS exec POD [-c CONTAINER] -- CMD...`.
    pub fn exec(&self, ns: &str, pod: &str, container: Option<&str>, cmd: &[&str]) -> Result<String> {
        Ok(String::from_utf8_lossy(&self.exec_raw(ns, pod, container, cmd)?).into_owned())
    }

    /// Like [`Kubectl::exec`], stdout as bytes.
    pub fn exec_raw(&self, ns: &str, pod: &str, container: Option<&str>, cmd: &[&str]) -> Result<Vec<u8>> {
        self.raw(&exec_args(ns, pod, container, cmd))
    }

    /// Like [`Kubectl::exec`], stdout and what kubectl printed on stderr, as text.
    pub fn exec_output(
        &self,
        ns: &str,
        pod: &str,
        container: Option<&str>,
        cmd: &[&str],
    ) -> Result<(String, String)> {
        let out = self.succeed(&exec_args(ns, pod, container, cmd))?;
        Ok((
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ))
    }

    /// `kubectl -n NS logs POD -c CONTAINER`.
    pub fn logs(&self, ns: &str, pod: &str, container: &str) -> Result<String> {
        self.run(&["-n", ns, "logs", pod, "-c", container])
    }

    /// Waits until the container's log has `needle` at least `count` times; returns the log.
    pub fn wait_for_log(
        &self,
        ns: &str,
        pod: &str,
        container: &str,
        needle: &str,
        count: usize,
    ) -> Result<String> {
        let start = Instant::now();
        loop {
            let text = self.logs(ns, pod, container)?;
            if text.matches(needle).count() >= count {
                return Ok(text);
            }
            if start.elapsed() > RUN_TIMEOUT {
                bail!(
                    "{pod}/{container}: {needle:?} not {count} time(s) in the log after {RUN_TIMEOUT:?}:\n{text}"
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The status of container `name` (regular or init).
pub fn status<'a>(pod: &'a Pod, name: &str) -> Option<&'a ContainerStatus> {
    let s = pod.status.as_ref()?;
    s.container_statuses
        .iter()
        .flatten()
        .chain(s.init_container_statuses.iter().flatten())
        .find(|c| c.name == name)
}

/// One line per container: name, state and reason, for error messages.
pub fn describe(pod: &Pod) -> String {
    let s = pod.status.clone().unwrap_or_default();
    let mut out = format!(
        "pod {} phase {:?} qos {:?}",
        pod.metadata.name.as_deref().unwrap_or_default(),
        s.phase,
        s.qos_class
    );
    for c in s
        .init_container_statuses
        .iter()
        .flatten()
        .chain(s.container_statuses.iter().flatten())
    {
        let state = c.state.clone().unwrap_or_default();
        let what = match (state.waiting, state.running, state.terminated) {
            (Some(w), _, _) => format!("waiting {:?}: {:?}", w.reason, w.message),
            (_, Some(_), _) => "running".to_string(),
            (_, _, Some(t)) => format!("terminated {} {:?}", t.exit_code, t.reason),
            _ => "unknown".to_string(),
        };
        let last = c
            .last_state
            .as_ref()
            .and_then(|l| l.terminated.as_ref())
            .map(|t| format!(", last exit {} {:?}", t.exit_code, t.reason))
            .unwrap_or_default();
        out.push_str(&format!(
            "\n  {}: {what}, ready {}, restarts {}{last}",
            c.name, c.ready, c.restart_count
        ));
    }
    out
}

/// Polls pod `name` until `done` holds; fails early when a container is stuck (image pull,
/// create errors, crash loop), and after [`RUN_TIMEOUT`], describing the pod.
pub async fn wait_pod(ns: &TempNs, name: &str, what: &str, done: impl Fn(&Pod) -> bool) -> Result<Pod> {
    poll(ns, name, what, false, done).await
}

async fn poll(
    ns: &TempNs,
    name: &str,
    what: &str,
    no_restarts: bool,
    done: impl Fn(&Pod) -> bool,
) -> Result<Pod> {
    let start = Instant::now();
    loop {
        let pod = ns
            .pods()
            .get(name)
            .await
            .with_context(|| format!("reading pod {name}"))?;
        if done(&pod) {
            return Ok(pod);
        }
        let stuck = pod
            .status
            .iter()
            .flat_map(|s| {
                s.container_statuses
                    .iter()
                    .flatten()
                    .chain(s.init_container_statuses.iter().flatten())
            })
            .filter_map(|c| c.state.as_ref()?.waiting.as_ref())
            .find(|w| w.reason.as_deref().is_some_and(|r| STUCK.contains(&r)));
        let restarted = pod
            .status
            .iter()
            .flat_map(|s| s.container_statuses.iter().flatten())
            .find(|c| no_restarts && c.restart_count > 0);
        if let Some(c) = restarted {
            bail!(
                "pod {name} will not {what}: container {} exited and was restarted (see `kubectl logs --previous`):\n{}",
                c.name,
                describe(&pod)
            );
        }
        if let Some(w) = stuck {
            bail!(
                "pod {name} will not {what}: {:?}: {:?}\n{}",
                w.reason,
                w.message,
                describe(&pod)
            );
        }
        if start.elapsed() > RUN_TIMEOUT {
            bail!(
                "pod {name} did not {what} within {RUN_TIMEOUT:?}:\n{}",
                describe(&pod)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the pod runs with every regular container ready; fails as soon as a container
/// has been restarted (no test expects one), saying why it exited.
pub async fn wait_running(ns: &TempNs, name: &str) -> Result<Pod> {
    poll(ns, name, "run", true, |p| {
        let s = p.status.as_ref();
        s.and_then(|s| s.phase.as_deref()) == Some("Running")
            && s.and_then(|s| s.container_statuses.as_ref())
                .is_some_and(|cs| !cs.is_empty() && cs.iter().all(|c| c.ready))
    })
    .await
}

/// `respawn status` of a wrapped container, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupervisorStatus {
    /// The supervised process.
    pub pid: u32,
    /// Starts so far (1 before any restart).
    pub generation: u64,
    /// The whole text.
    pub text: String,
}

impl SupervisorStatus {
    /// Parses `respawn status` output (`pid: N`, `generation: N` lines).
    pub fn parse(text: &str) -> Result<SupervisorStatus> {
        let field = |name: &str| -> Result<&str> {
            text.lines()
                .find_map(|l| l.trim_start_matches("ok ").strip_prefix(name).map(str::trim))
                .with_context(|| format!("no `{name}` in `respawn status` output:\n{text}"))
        };
        Ok(SupervisorStatus {
            pid: field("pid:")?.parse()?,
            generation: field("generation:")?.parse()?,
            text: text.to_string(),
        })
    }
}

/// `-n NS exec POD [-c CONTAINER] -- CMD...`
fn exec_args<'a>(ns: &'a str, pod: &'a str, container: Option<&'a str>, cmd: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["-n", ns, "exec", pod];
    if let Some(c) = container {
        args.extend(["-c", c]);
    }
    args.push("--");
    args.extend(cmd);
    args
}
