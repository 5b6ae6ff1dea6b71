//! Reinvocation: a second mutating webhook, ordered after respawn's, changes the pod, so the
//! apiserver reinvokes the webhooks with reinvocationPolicy IfNeeded — respawn's among them. The
//! injected pod carries the label `respawn.dev/injected`, which the configuration's objectSelector
//! excludes (as the chart's does), so the apiserver does not call respawn-webhook again at all;
//! the stored pod is injected exactly once. (The webhook's own guard for pods injected without
//! the label — by an older respawn — is proven in offline_inject.rs.)
//!
//! The ServiceAccount plugin, re-run after the webhook added `respawn-install`, would mount the
//! token into it and that alone would reinvoke the webhook; the installer therefore shadows the
//! token path with the (empty, read-only) respawn volume. The controls prove both: with and
//! without `automountServiceAccountToken`, respawn-webhook is called once and `respawn-install`
//! carries no token.

use anyhow::{Result, ensure};
use k8s_openapi::api::core::v1::Pod;
use respawn_e2e::pods::{self, OPT_IN, assert_injected, is_injected};
use respawn_e2e::temp_ns::unique_suffix;
use respawn_e2e::testhook::{PatchForm, TOUCHED_LABEL, TestHook};
use respawn_e2e::webhooks::{CASE_LABEL, with_config};
use respawn_e2e::{Stack, with_ns};

/// respawn-webhook's log lines about pod `pod` of `ns`: (injected, skipped as already injected).
fn admissions(ns: &str, pod: &str) -> (usize, usize) {
    let (ns_field, pod_field) = (format!("namespace=\"{ns}\""), format!("pod={pod} "));
    let log = Stack::get().webhook_log();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(&ns_field) && l.contains(&pod_field))
        .collect();
    let count = |what: &str| lines.iter().filter(|l| l.contains(what)).count();
    (count(" injected "), count("already_injected"))
}

fn no_token_pod(name: &str, labels: &[(&str, &str)], image: &str) -> Pod {
    let mut pod = pods::pod(name, labels, image, None, None);
    if let Some(spec) = pod.spec.as_mut() {
        spec.automount_service_account_token = Some(false);
    }
    pod
}

#[tokio::test]
async fn second_webhook_causes_reinvocation_without_double_injection() -> Result<()> {
    Stack::local_only("the in-process test webhook on 127.0.0.1 and respawn-webhook's log")?;
    let case = format!("reinvoke-{}", unique_suffix());
    let image = crate::image("oci")?;
    with_ns("reinvoke", &[], |ns| async move {
        // Control: without the second webhook, respawn-webhook is called once.
        let control = ns.create_pod(&no_token_pod("control", &[OPT_IN], &image)).await?;
        assert_injected(&control, "app", &["/bin/busybox", "sleep", "3600"])?;
        let calls = admissions(&ns.name, "control");
        ensure!(
            calls == (1, 0),
            "without a second webhook: (injected, already injected) = {calls:?}, want (1, 0)"
        );
        // Same with the token automounted (the default): the ServiceAccount plugin leaves the
        // installer alone, so nothing reinvokes us and the installer gets no token.
        let tokened = ns
            .create_pod(&pods::pod("control-token", &[OPT_IN], &image, None, None))
            .await?;
        assert_injected(&tokened, "app", &["/bin/busybox", "sleep", "3600"])?;
        let spec = tokened.spec.as_ref().expect("spec");
        let app_mounts = spec.containers[0].volume_mounts.clone().unwrap_or_default();
        ensure!(
            app_mounts.iter().any(|m| m.name.starts_with("kube-api-access-")),
            "the app container lost its service-account token: {app_mounts:?}"
        );
        let install = &spec.init_containers.as_ref().expect("init containers")[0];
        let install_mounts = install.volume_mounts.clone().unwrap_or_default();
        ensure!(
            !install_mounts
                .iter()
                .any(|m| m.name.starts_with("kube-api-access-")),
            "respawn-install got the service-account token: {install_mounts:?}"
        );
        let calls = admissions(&ns.name, "control-token");
        ensure!(
            calls == (1, 0),
            "with the token automounted: (injected, already injected) = {calls:?}, want (1, 0)"
        );

        let hook = TestHook::start(PatchForm::Base64).await?;
        let hooks = [hook.hook("relabel.e2e.respawn.dev")];
        // Webhooks run in configuration-name order: `respawn-e2e` first, this one after it.
        let config = format!("respawn-e2e-zz-{case}");
        let probe = no_token_pod("probe", &[OPT_IN, (CASE_LABEL, case.as_str())], &image);
        let pod = no_token_pod("app", &[OPT_IN, (CASE_LABEL, case.as_str())], &image);
        with_config(&ns.client, &config, &case, &hooks, || async {
            ns.wait_for_marker_hook(&probe).await?;
            let calls_before = hook.calls();
            let stored = ns.admit(&pod).await?.pod()?;
            ensure!(
                stored
                    .metadata
                    .labels
                    .as_ref()
                    .is_some_and(|l| l.contains_key(TOUCHED_LABEL)),
                "the second webhook's label is missing"
            );
            assert_injected(&stored, "app", &["/bin/busybox", "sleep", "3600"])?;
            let seen = hook
                .seen
                .lock()
                .map(|s| s[calls_before..].to_vec())
                .unwrap_or_default();
            ensure!(
                seen.len() == 1,
                "the second webhook was called {} times",
                seen.len()
            );
            let seen_pod: Pod = serde_json::from_value(seen[0].clone())?;
            ensure!(
                is_injected(&seen_pod),
                "the second webhook ran before respawn's: no reinvocation would follow"
            );
            // The reinvocation left respawn-webhook out by label: called once, for the injection.
            let calls = admissions(&ns.name, "app");
            ensure!(
                calls == (1, 0),
                "after the second webhook: (injected, already injected) = {calls:?}, want (1, 0): \
                 the injected label should keep the apiserver from calling respawn-webhook again"
            );
            Ok(())
        })
        .await
    })
    .await
}
