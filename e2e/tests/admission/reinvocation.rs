//! Reinvocation: a second mutating webhook, ordered after respawn's, changes the pod, so the
//! apiserver calls respawn-webhook again (reinvocationPolicy IfNeeded) with the injected pod.
//! The stored pod must be injected exactly once.

use anyhow::{Result, ensure};
use respawn_e2e::pods::{self, OPT_IN, assert_injected, is_injected};
use respawn_e2e::temp_ns::unique_suffix;
use respawn_e2e::testhook::{PatchForm, TOUCHED_LABEL, TestHook};
use respawn_e2e::webhooks::{CASE_LABEL, Hook, with_config};
use respawn_e2e::{Stack, with_ns};

const ALREADY: &str = "respawn_webhook_pods_skipped_total{reason=\"already_injected\"}";

#[tokio::test]
async fn second_webhook_causes_reinvocation_without_double_injection() -> Result<()> {
    let case = format!("reinvoke-{}", unique_suffix());
    let image = crate::image("oci")?;
    with_ns("reinvoke", &[], |ns| async move {
        let hook = TestHook::start(PatchForm::Base64).await?;
        let hooks = [Hook {
            name: "relabel.e2e.respawn.dev".into(), url: hook.url.clone(), ca_pem: hook.ca_pem.clone(),
            failure_policy: "Fail", reinvocation: "Never",
        }];
        // Webhooks run in configuration-name order: `respawn-e2e` first, this one after it.
        let config = format!("respawn-e2e-zz-{case}");
        let pod = pods::pod("app", &[OPT_IN, (CASE_LABEL, case.as_str())], &image, None, None);
        with_config(&ns.client, &config, &case, &hooks, || async {
            respawn_e2e::webhooks::eventually("the configuration is in force", std::time::Duration::from_secs(20), || async {
                Ok(ns.admit_dry_run(&pod).await?.pod()?.metadata.labels.unwrap_or_default().contains_key(TOUCHED_LABEL))
            })
            .await?;
            let before = Stack::get().webhook_metric(ALREADY)?;
            let calls_before = hook.calls();
            let stored = ns.admit(&pod).await?.pod()?;
            let after = Stack::get().webhook_metric(ALREADY)?;
            ensure!(stored.metadata.labels.as_ref().is_some_and(|l| l.contains_key(TOUCHED_LABEL)), "the second webhook's label is missing");
            assert_injected(&stored, "app", &["/bin/busybox", "sleep", "3600"])?;
            let seen = hook.seen.lock().map(|s| s[calls_before..].to_vec()).unwrap_or_default();
            ensure!(!seen.is_empty(), "the second webhook was not called");
            let seen_pod: k8s_openapi::api::core::v1::Pod = serde_json::from_value(seen[0].clone())?;
            ensure!(is_injected(&seen_pod), "the second webhook ran before respawn's: no reinvocation would follow");
            ensure!(after > before, "respawn-webhook was not reinvoked ({ALREADY}: {before} -> {after})");
            Ok(())
        })
        .await
    })
    .await
}
