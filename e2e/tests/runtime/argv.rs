//! The exact argv reaches the process, for every row of the argv table, with `$`, `$$` and
//! `$(VAR)` (defined and not) in the image's strings and in the user's: each pod runs twice, wrapped
//! in a labelled namespace and as written in a plain one, and the process's `/proc/PID/cmdline`
//! must be byte for byte the same. The kubelet's expansion is the reference, not a model of it.

use anyhow::{Context, Result, ensure};
use k8s_openapi::api::core::v1::Pod;
use respawn_e2e::node::{self, Kubectl};
use respawn_e2e::{TempNs, pods, with_ns};
use serde_json::json;

/// The image's ENTRYPOINT script: a shell that stays up (its extra arguments are never read).
const SCRIPT: &str = "trap 'exit 0' TERM; while :; do /bin/busybox sleep 1; done";
/// A user's command: the same script, with `$` cases in its extra argument.
const USER_COMMAND: [&str; 4] = [
    "/bin/sh",
    "-c",
    SCRIPT,
    "user $(DEFINED) $(UNDEFINED) $$(DEFINED) $$ $ end$",
];
/// A user's args.
const USER_ARGS: [&str; 9] = [
    "$(DEFINED)",
    "$(UNDEFINED)",
    "$$(DEFINED)",
    "$$$",
    "$$$$",
    "$",
    "a$b",
    "$(",
    "$(DEFINED)$(DEFINED)",
];
/// `respawn-test/argv:v1` (e2e/stack/test-images.sh): ENTRYPOINT ...
const IMAGE_ENTRYPOINT: [&str; 4] = [
    "/bin/sh",
    "-c",
    SCRIPT,
    "entry $(DEFINED) $(UNDEFINED) $$(DEFINED) $$ $ end$",
];
/// ... and CMD.
const IMAGE_CMD: [&str; 7] = [
    "cmd $(DEFINED)",
    "$(UNDEFINED)",
    "$$(DEFINED)",
    "$$$",
    "$",
    "a$b",
    "$(",
];

/// What the kubelet makes of [`USER_COMMAND`] and [`USER_ARGS`] with DEFINED=`d-value` (image
/// strings reach the process untouched). Checked against the plain pods, so a misunderstanding
/// of the kubelet shows up here rather than in both runs alike.
const EXPANDED_USER_COMMAND: [&str; 4] = [
    "/bin/sh",
    "-c",
    SCRIPT,
    "user d-value $(UNDEFINED) $(DEFINED) $ $ end$",
];
const EXPANDED_USER_ARGS: [&str; 9] = [
    "d-value",
    "$(UNDEFINED)",
    "$(DEFINED)",
    "$$",
    "$$",
    "$",
    "a$b",
    "$(",
    "d-valued-value",
];

fn row_pod(name: &str, image: &str, command: Option<&[&str]>, args: Option<&[&str]>) -> Pod {
    let mut c = json!({"name": "app", "image": image, "env": [{"name": "DEFINED", "value": "d-value"}]});
    if let Some(command) = command {
        c["command"] = json!(command);
    }
    if let Some(args) = args {
        c["args"] = json!(args);
    }
    pods::from_json(json!({
        "metadata": {"name": name},
        "spec": {"terminationGracePeriodSeconds": 2, "containers": [c]}
    }))
}

/// The argv of process `pid` in the pod's app container (busybox `cat` of its cmdline).
fn cmdline(k: &Kubectl, ns: &str, pod: &str, pid: u32) -> Result<Vec<String>> {
    let raw = k.exec_raw(
        ns,
        pod,
        Some("app"),
        &["/bin/busybox", "cat", &format!("/proc/{pid}/cmdline")],
    )?;
    let text = String::from_utf8(raw).context("cmdline is not UTF-8")?;
    Ok(text
        .strip_suffix('\0')
        .unwrap_or(&text)
        .split('\0')
        .map(str::to_string)
        .collect())
}

/// One row of the argv table: pod name, `command`, `args`, the argv the process must get.
type Row = (
    &'static str,
    Option<&'static [&'static str]>,
    Option<&'static [&'static str]>,
    Vec<String>,
);

fn owned(parts: &[&[&str]]) -> Vec<String> {
    parts
        .iter()
        .flat_map(|p| p.iter().map(|s| s.to_string()))
        .collect()
}

#[tokio::test]
async fn every_argv_row_reaches_the_process_exactly_as_without_respawn() -> Result<()> {
    let (stack, _, k) = crate::local()?;
    let image = stack.test_image("argv")?;
    let rows: [Row; 4] = [
        ("neither", None, None, owned(&[&IMAGE_ENTRYPOINT, &IMAGE_CMD])),
        (
            "args",
            None,
            Some(&USER_ARGS),
            owned(&[&IMAGE_ENTRYPOINT, &EXPANDED_USER_ARGS]),
        ),
        (
            "command",
            Some(&USER_COMMAND),
            None,
            owned(&[&EXPANDED_USER_COMMAND]),
        ),
        (
            "both",
            Some(&USER_COMMAND),
            Some(&USER_ARGS),
            owned(&[&EXPANDED_USER_COMMAND, &EXPANDED_USER_ARGS]),
        ),
    ];
    with_ns("argv-plain", &[], |plain| async move {
        with_ns("argv", &[pods::OPT_IN], |wrapped| async move {
            // All eight pods at once: the node starts them in parallel.
            for (name, command, args, _) in &rows {
                let pod = row_pod(name, &image, *command, *args);
                let stored = wrapped.create_pod(&pod).await?;
                ensure!(pods::is_injected(&stored), "{name}: not injected");
                let stored = plain.create_pod(&pod).await?;
                ensure!(
                    !pods::is_injected(&stored),
                    "{name}: injected in a plain namespace"
                );
            }
            for (name, _, _, expected) in &rows {
                check_row(&k, &plain, &wrapped, name, expected).await?;
            }
            Ok(())
        })
        .await
    })
    .await
}

async fn check_row(
    k: &Kubectl,
    plain: &TempNs,
    wrapped: &TempNs,
    name: &str,
    expected: &[String],
) -> Result<()> {
    node::wait_running(plain, name).await?;
    node::wait_running(wrapped, name).await?;
    // Without respawn the process is PID 1; with it, the pid `respawn status` names.
    let want = cmdline(k, &plain.name, name, 1)?;
    let pid = crate::status(k, &wrapped.name, name)?.pid;
    ensure!(
        pid != 1,
        "{name}: the process is PID 1 in the wrapped pod: no supervisor"
    );
    let got = cmdline(k, &wrapped.name, name, pid)?;
    ensure!(
        got == want,
        "row {name}: the wrapped process got\n  {got:?}\nthe same pod without respawn got\n  {want:?}"
    );
    ensure!(
        want == expected,
        "row {name}: the kubelet gave the unwrapped process\n  {want:?}\nnot, as docs/webhook.md says,\n  {expected:?}"
    );
    Ok(())
}

/// A multi-arch image (`respawn-test/index`: its arm64 entry has another ENTRYPOINT) for a pod
/// that does not pin its architecture: the webhook passes both argvs, and the supervisor on
/// this amd64 node runs amd64's.
#[tokio::test]
async fn multi_arch_pod_runs_its_nodes_argv() -> Result<()> {
    let (stack, _, k) = crate::local()?;
    let image = stack.test_image("index")?;
    with_ns("argv-multiarch", &[pods::OPT_IN], |ns| async move {
        let stored = ns.create_pod(&row_pod("multi", &image, None, None)).await?;
        let args = pods::container(&stored, "app")?.args.clone().unwrap_or_default();
        ensure!(
            args.first().map(String::as_str) == Some("--argv-for"),
            "no per-platform argv in {args:?}"
        );
        // If the supervisor rejects its arguments the container exits at once: say why.
        let why = || {
            let previous = k.run(&["-n", &ns.name, "logs", "multi", "-c", "app", "--previous"]);
            let current = k.logs(&ns.name, "multi", "app");
            format!("the app container's log: {previous:?} / {current:?}")
        };
        node::wait_running(&ns, "multi").await.with_context(why)?;
        let pid = crate::status(&k, &ns.name, "multi").with_context(why)?.pid;
        let got = cmdline(&k, &ns.name, "multi", pid)?;
        ensure!(
            got == ["/bin/busybox", "sleep", "3600"],
            "the amd64 node ran {got:?} (args {args:?})"
        );
        Ok(())
    })
    .await
}
