//! The webhook is down (its URL points at a 127.0.0.1 port nobody listens on): with
//! failurePolicy Ignore the apiserver admits pods uninjected, with Fail it rejects them.

use std::time::Duration;

use anyhow::{Result, ensure};
use respawn_e2e::pods::{self, assert_untouched};
use respawn_e2e::temp_ns::unique_suffix;
use respawn_e2e::testhook::{PatchForm, TestHook};
use respawn_e2e::webhooks::{CASE_LABEL, Hook, dead_url, eventually, with_config};
use respawn_e2e::{Stack, with_ns};

/// What these tests need that only the local stack has.
const NEEDS: &str = "an apiserver on this host (a dead 127.0.0.1 port, the in-process test webhook) and the webhook's CA file";

fn dead_hook(policy: &'static str) -> Result<Hook> {
    let ca_pem = std::fs::read_to_string(Stack::local_only(NEEDS)?.var("WEBHOOK_CA")?)?;
    Ok(Hook {
        name: "down.inject.respawn.dev".into(),
        url: dead_url()?,
        ca_pem,
        failure_policy: policy,
        reinvocation: "IfNeeded",
    })
}

#[tokio::test]
async fn ignore_admits_uninjected() -> Result<()> {
    Stack::local_only(NEEDS)?;
    let case = format!("down-ignore-{}", unique_suffix());
    let image = crate::image("oci")?;
    with_ns("down-ignore", &[], |ns| async move {
        // A live marker hook in the same configuration shows when the configuration is in force.
        let marker = TestHook::start(PatchForm::Base64).await?;
        let marker_hook = marker.hook("marker.e2e.respawn.dev");
        let hooks = [dead_hook("Ignore")?, marker_hook];
        let pod = pods::pod("app", &[(CASE_LABEL, case.as_str())], &image, None, None);
        with_config(
            &ns.client,
            &format!("respawn-e2e-{case}"),
            &case,
            &hooks,
            || async {
                ns.wait_for_marker_hook(&pod).await?;
                let stored = ns.admit(&pod).await?.pod()?;
                assert_untouched(&stored, "app", None, None)
            },
        )
        .await
    })
    .await
}

#[tokio::test]
async fn fail_rejects() -> Result<()> {
    Stack::local_only(NEEDS)?;
    let case = format!("down-fail-{}", unique_suffix());
    let image = crate::image("oci")?;
    with_ns("down-fail", &[], |ns| async move {
        let pod = pods::pod("app", &[(CASE_LABEL, case.as_str())], &image, None, None);
        with_config(
            &ns.client,
            &format!("respawn-e2e-{case}"),
            &case,
            &[dead_hook("Fail")?],
            || async {
                eventually(
                    "the configuration is in force",
                    Duration::from_secs(20),
                    || async { Ok(ns.admit_dry_run(&pod).await?.code >= 400) },
                )
                .await?;
                let admission = ns.admit(&pod).await?;
                ensure!(
                    admission.code >= 500 || admission.code == 400 || admission.code == 403,
                    "admitted: {}",
                    admission.body
                );
                let msg = admission.message();
                ensure!(
                    msg.contains("failed calling webhook") && msg.contains("down.inject.respawn.dev"),
                    "unexpected rejection: {msg}"
                );
                ensure!(ns.pods().get_opt("app").await?.is_none(), "the pod was stored");
                Ok(())
            },
        )
        .await
    })
    .await
}
