//! `respawn-webhook inject` (issue 16) against the real apiserver: a Deployment whose image's
//! ENTRYPOINT/CMD live in the stack's registry is injected offline, then applied where the webhook
//! is not in the path, and its stored pod is exactly what the webhook makes of the same
//! Deployment in an opted-in namespace.
//!
//! "Where the webhook is not in the path": a namespace that neither entry of the
//! MutatingWebhookConfiguration selects (no namespace label, no pod label). To the apiserver that
//! is the same as no configuration at all — it evaluates the selectors and never calls the
//! webhook. Deleting the shared configuration instead would change the admission of every test
//! running beside this one. The test proves the webhook stayed out: a control Deployment in the
//! same namespace is stored uninjected, and the webhook's log never names the namespace.
//!
//! Local only: the host runs the binary and reaches the registry over plain HTTP, and the proof
//! reads the webhook's log.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, Pod};
use kube::api::{ListParams, PostParams};
use respawn_e2e::pods::{self, INIT_NAME, OPT_IN, VOLUME_NAME, assert_injected, assert_untouched};
use respawn_e2e::stack::repo_root;
use respawn_e2e::webhooks::eventually;
use respawn_e2e::{INJECTED_LABEL, Stack, TempNs, node, with_ns};
use serde_json::Value;

const NEEDS: &str = "the host's respawn-webhook binary reaching the stack's registry, and the webhook's log";
/// The argv of `respawn-test/oci:v1` (ENTRYPOINT + CMD in the image config).
const ARGV: [&str; 3] = ["/bin/busybox", "sleep", "3600"];

/// A Deployment of `image` without `command`, not opted in by any label; limits only (the
/// apiserver makes them requests: a Guaranteed pod, whose installer must keep it Guaranteed).
fn deployment_yaml(name: &str, image: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  replicas: 1\n  \
         selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    \
         spec:\n      terminationGracePeriodSeconds: 1\n      containers:\n      - name: web\n        image: {image}\n        \
         resources:\n          limits: {{cpu: 200m, memory: 64Mi}}\n"
    )
}

/// Runs `respawn-webhook inject` with the stack webhook's injection flags; returns stdout and
/// stderr, failing when it exits non-zero.
fn inject(stack: &Stack, extra: &[&str], input: &str) -> Result<(String, String)> {
    let bin = std::env::var_os("RESPAWN_WEBHOOK_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/release/respawn-webhook"));
    let registry = format!("127.0.0.1:{}", stack.var("REGISTRY_PORT")?);
    let mut child = Command::new(&bin)
        .args(["inject", "--supervisor-image", stack.var("SUPERVISOR_IMAGE")?])
        .args([
            "--insecure-registry",
            &registry,
            "--on-lookup-failure",
            "deny",
            "-f",
            "-",
        ])
        .args(extra)
        .env("HOME", stack.dir.join("no-home"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("running {} (make webhook builds it)", bin.display()))?;
    child.stdin.take().context("stdin")?.write_all(input.as_bytes())?;
    let out = child.wait_with_output()?;
    let (stdout, stderr) = (String::from_utf8(out.stdout)?, String::from_utf8(out.stderr)?);
    ensure!(
        out.status.success(),
        "respawn-webhook inject failed ({}):\n{stderr}",
        out.status
    );
    Ok((stdout, stderr))
}

/// Creates the Deployment and returns its one pod once the controller-manager made it.
async fn deploy(ns: &TempNs, deployment: &Deployment) -> Result<Pod> {
    let name = deployment.metadata.name.clone().context("no name")?;
    ns.api::<Deployment>()
        .create(&PostParams::default(), deployment)
        .await?;
    let list = ListParams::default().labels(&format!("app={name}"));
    eventually(&format!("the pod of {name}"), Duration::from_secs(60), || async {
        Ok(!ns.pods().list(&list).await?.items.is_empty())
    })
    .await?;
    Ok(ns.pods().list(&list).await?.items.remove(0))
}

/// A container without what the ServiceAccount admission plugin adds (its token mount, whose
/// volume name is random), as JSON.
fn comparable(c: &Container) -> Result<Value> {
    let mut c = c.clone();
    if let Some(m) = c.volume_mounts.as_mut() {
        m.retain(|m| !m.name.starts_with("kube-api-access-"));
    }
    Ok(serde_json::to_value(c)?)
}

/// What the injection decided for a pod: the app container, the installer, the volume, the
/// annotations.
fn injection_of(pod: &Pod) -> Result<Value> {
    let spec = pod.spec.as_ref().context("no spec")?;
    let init = spec
        .init_containers
        .iter()
        .flatten()
        .find(|c| c.name == INIT_NAME);
    let volume = spec.volumes.iter().flatten().find(|v| v.name == VOLUME_NAME);
    let annotations = pod.metadata.annotations.clone().unwrap_or_default();
    Ok(serde_json::json!({
        "app": comparable(pods::container(pod, "web")?)?,
        "installer": init.map(comparable).transpose()?,
        "volume": volume,
        "status": annotations.get("respawn.dev/status"),
        "original-argv": annotations.get("respawn.dev/original-argv"),
    }))
}

#[tokio::test]
async fn offline_injected_deployment_is_admitted_as_the_webhook_would_inject_it() -> Result<()> {
    let stack = Stack::local_only(NEEDS)?;
    let image = crate::image("oci")?;
    let raw = deployment_yaml("web", &image);
    let (offline, report) = inject(stack, &["--all"], &raw)?;
    ensure!(
        report.contains("(Deployment web): injected (containers: web)"),
        "{report}"
    );
    let offline: Deployment = yaml_serde::from_str(&offline).context("inject's output")?;

    // The webhook's own injection of the same Deployment, in an opted-in namespace.
    let mut webhook_pod = None;
    with_ns("inject-webhook", &[OPT_IN], |ns| {
        let slot = &mut webhook_pod;
        let raw = &raw;
        async move {
            let pod = deploy(&ns, &yaml_serde::from_str(raw)?).await?;
            assert_injected(&pod, "web", &ARGV)?;
            *slot = Some(pod);
            Ok(())
        }
    })
    .await?;
    let webhook_pod = webhook_pod.context("the webhook's pod")?;

    with_ns("inject-plain", &[], |ns| async move {
        // The control: the same Deployment as written is stored uninjected here — the webhook
        // is not in this namespace's admission path.
        let control_pod = deploy(&ns, &yaml_serde::from_str(&deployment_yaml("control", &image))?).await?;
        assert_untouched(&control_pod, "web", None, None)?;

        let pod = deploy(&ns, &offline).await?;
        assert_injected(&pod, "web", &ARGV)?;
        let qos = pod.status.as_ref().and_then(|s| s.qos_class.clone());
        ensure!(
            qos.as_deref() == Some("Guaranteed"),
            "the injected pod's QoS class is {qos:?}"
        );
        let (ours, theirs) = (injection_of(&pod)?, injection_of(&webhook_pod)?);
        ensure!(
            ours == theirs,
            "offline and webhook injection differ:\noffline: {ours:#}\nwebhook: {theirs:#}"
        );
        let log = stack.webhook_log();
        let seen: Vec<&str> = log.lines().filter(|l| l.contains(&ns.name)).collect();
        ensure!(
            seen.is_empty(),
            "the webhook was called for namespace {}:\n{}",
            ns.name,
            seen.join("\n")
        );
        // And it runs under respawn on the node: the kubelet starts /respawn/respawn, which
        // started the image's argv (generation 1), in the Deployment's pod.
        let name = pod.metadata.name.clone().context("the pod's name")?;
        node::wait_running(&ns, &name).await?;
        let k = node::Kubectl::of(stack)?;
        let status = node::SupervisorStatus::parse(&k.exec(
            &ns.name,
            &name,
            Some("web"),
            &["/respawn/respawn", "status"],
        )?)?;
        ensure!(
            status.generation == 1,
            "respawn status in the offline-injected pod:\n{}",
            status.text
        );
        let cmdline = k.exec_raw(
            &ns.name,
            &name,
            Some("web"),
            &["/bin/busybox", "cat", &format!("/proc/{}/cmdline", status.pid)],
        )?;
        let argv: Vec<String> = cmdline
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        ensure!(
            argv == ARGV,
            "the supervised process runs {argv:?}, not the image's {ARGV:?}"
        );
        Ok(())
    })
    .await
}

/// Idempotent both ways on real objects: the webhook leaves an offline-injected pod alone, and
/// `inject` leaves a pod the webhook injected (as the apiserver stored it) alone.
///
/// An injected pod is left alone twice over: its label `respawn.dev/injected` keeps the apiserver
/// from calling the webhook (the configuration's objectSelector, as the chart's), and a pod
/// injected without that label — by a respawn from before the label — is still recognised by
/// the webhook (status annotation, installer) and admitted unchanged.
#[tokio::test]
async fn webhook_and_inject_each_leave_the_others_pods_alone() -> Result<()> {
    let stack = Stack::local_only(NEEDS)?;
    let image = crate::image("oci")?;
    let (offline, _) = inject(stack, &["--all"], &deployment_yaml("pre", &image))?;
    let offline: Deployment = yaml_serde::from_str(&offline)?;
    let (older, _) = inject(stack, &["--all"], &deployment_yaml("older", &image))?;
    let mut unlabelled: Deployment = yaml_serde::from_str(&older)?;
    let template = unlabelled
        .spec
        .as_mut()
        .and_then(|s| s.template.metadata.as_mut())
        .and_then(|m| m.labels.as_mut())
        .context("the injected template's labels")?;
    ensure!(
        template.remove(INJECTED_LABEL).as_deref() == Some("true"),
        "inject did not label the template {}=true: {template:?}",
        INJECTED_LABEL
    );
    with_ns("inject-both", &[OPT_IN], |ns| async move {
        let skipped =
            || stack.webhook_metric("respawn_webhook_pods_skipped_total{reason=\"already_injected\"}");
        let before = skipped()?;
        let pod = deploy(&ns, &offline).await?;
        // Injected exactly once (one installer, one volume), and the webhook never saw it.
        assert_injected(&pod, "web", &ARGV)?;
        let log = stack.webhook_log();
        let seen: Vec<&str> = log.lines().filter(|l| l.contains(&ns.name)).collect();
        ensure!(
            seen.is_empty(),
            "the webhook was called for the labelled pod:\n{}",
            seen.join("\n")
        );
        let pod = deploy(&ns, &unlabelled).await?;
        // Without the label the webhook is called, sees the status annotation and the installer
        // from the template, and changes nothing.
        assert_injected(&pod, "web", &ARGV)?;
        let after = skipped()?;
        ensure!(
            after > before,
            "the webhook did not answer already_injected for the unlabelled pod ({before} -> {after})"
        );

        let stored = deploy(&ns, &yaml_serde::from_str(&deployment_yaml("web", &image))?).await?;
        assert_injected(&stored, "web", &ARGV)?;
        let json = serde_json::to_value(&stored)?;
        let (again, report) = inject(stack, &["--all"], &json.to_string())?;
        ensure!(report.contains("unchanged: already injected"), "{report}");
        let again: Value = yaml_serde::from_str(&again)?;
        ensure!(again == json, "inject changed a webhook-injected pod");
        Ok(())
    })
    .await
}
