//! The webhook's hot-path reader (`fastjson`) on what the real kube-apiserver sends: Go's
//! encoder writes `&`, `<` and `>` as `\u0026`, `\u003c`, `\u003e`, adds managedFields,
//! ownerReferences and every defaulted field. respawn-webhook counts which reader understood
//! each body (`respawn_webhook_review_reads_total{reader}`); serde_json is only the fallback
//! for anything the fast reader declines, so every body from the apiserver must be read fast.

use anyhow::{Result, ensure};
use respawn_e2e::pods::{self, OPT_IN, assert_injected};
use respawn_e2e::{Stack, with_ns};

const FAST: &str = r#"respawn_webhook_review_reads_total{reader="fast"}"#;
const SERDE: &str = r#"respawn_webhook_review_reads_total{reader="serde"}"#;

#[tokio::test]
async fn apiserver_bodies_take_the_fast_reader() -> Result<()> {
    let stack = Stack::local_only("respawn-webhook's /metrics port")?;
    let before = stack.webhook_metric(FAST)?;
    let image = crate::image("oci")?;
    let args = [
        "-c",
        "test -e /x && echo '<ok>' >/dev/null; exec sleep 3600",
        "caf\u{e9} \u{1F600}",
    ];
    with_ns("fast-reader", &[OPT_IN], |ns| async move {
        let mut pod = pods::pod("app", &[], &image, Some(&["/bin/sh"]), Some(&args));
        pod.metadata.annotations = Some(
            [(
                "example.com/note".to_string(),
                "<a href=\"x\">&amp;</a>".to_string(),
            )]
            .into(),
        );
        let stored = ns.create_pod(&pod).await?;
        let mut want = vec!["/bin/sh"];
        want.extend(args);
        assert_injected(&stored, "app", &want)
    })
    .await?;
    let (fast, serde) = (stack.webhook_metric(FAST)?, stack.webhook_metric(SERDE)?);
    ensure!(
        fast > before,
        "the fast reader's count did not grow ({before} -> {fast}) while a pod was admitted"
    );
    ensure!(
        serde == 0.0,
        "respawn-webhook fell back to serde_json for {serde} bodies from the apiserver: the fast \
         reader declined a real AdmissionReview (run the webhook with RESPAWN_WEBHOOK_LOG=debug \
         to see which)"
    );
    Ok(())
}
