//! The wire form of `response.patch`. The AdmissionReview API declares it a byte string, which
//! JSON carries as base64; kube-core's `AdmissionResponse` serialises it as an array of numbers
//! (kube-rs#1781). These tests pin down what the real apiserver accepts, using the test webhook
//! in both forms, and that respawn-webhook sends the documented form.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use respawn_e2e::pods;
use respawn_e2e::temp_ns::unique_suffix;
use respawn_e2e::testhook::{PatchForm, TOUCHED_LABEL, TestHook, decode_patch};
use respawn_e2e::webhooks::{CASE_LABEL, eventually, with_config};
use respawn_e2e::{Stack, with_ns};
use serde_json::Value;

/// Creates a pod through a configuration holding only the test webhook answering in `form`;
/// returns whether the label it patched in was stored, or the apiserver's rejection message.
async fn label_through(form: PatchForm) -> Result<Result<bool, String>> {
    Stack::local_only("an apiserver that reaches the in-process test webhook on 127.0.0.1")?;
    let case = format!("patch-{}", unique_suffix());
    let image = crate::image("oci")?;
    let mut outcome = Ok(false);
    let out = &mut outcome;
    with_ns("patch-form", &[], |ns| async move {
        let hook = TestHook::start(form).await?;
        let hooks = [hook.hook("patch-form.e2e.respawn.dev")];
        let pod = pods::pod("app", &[(CASE_LABEL, case.as_str())], &image, None, None);
        with_config(
            &ns.client,
            &format!("respawn-e2e-{case}"),
            &case,
            &hooks,
            || async {
                eventually("the test webhook is called", Duration::from_secs(20), || async {
                    ns.admit_dry_run(&pod).await?;
                    Ok(hook.calls() > 0)
                })
                .await?;
                let admission = ns.admit(&pod).await?;
                *out = match admission.code {
                    201 => Ok(admission
                        .pod()?
                        .metadata
                        .labels
                        .unwrap_or_default()
                        .contains_key(TOUCHED_LABEL)),
                    _ => Err(admission.message()),
                };
                Ok(())
            },
        )
        .await
    })
    .await?;
    Ok(outcome)
}

#[tokio::test]
async fn apiserver_applies_a_base64_patch() -> Result<()> {
    let outcome = label_through(PatchForm::Base64).await?;
    ensure!(outcome == Ok(true), "base64 patch: {outcome:?}");
    Ok(())
}

/// Records what kube-apiserver does with kube-core's number-array form.
#[tokio::test]
async fn apiserver_and_a_number_array_patch() -> Result<()> {
    let outcome = label_through(PatchForm::NumberArray).await?;
    eprintln!("kube-apiserver with a number-array patch: {outcome:?}");
    ensure!(outcome == Ok(true), "number-array patch: {outcome:?}");
    Ok(())
}

/// respawn-webhook's raw answer, read off the wire: `response.patch` is a base64 string holding a
/// JSON Patch array, `patchType` is JSONPatch.
#[tokio::test]
async fn respawn_webhook_sends_the_patch_as_a_base64_string() -> Result<()> {
    let stack = Stack::local_only("respawn-webhook's port and CA file on this host")?;
    let url = format!("https://127.0.0.1:{}/mutate", stack.var("WEBHOOK_PORT")?);
    let review = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/review-pod.json"
    ))?;
    let mut curl = Command::new("curl")
        .args([
            "-sS",
            "--fail",
            "--cacert",
            stack.var("WEBHOOK_CA")?,
            "-H",
            "Content-Type: application/json",
        ])
        .args(["--data-binary", "@-", &url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("running curl")?;
    curl.stdin.take().context("curl stdin")?.write_all(&review)?;
    let out = curl.wait_with_output()?;
    ensure!(out.status.success(), "curl {url}: {}", out.status);
    let answer: Value = serde_json::from_slice(&out.stdout)?;
    let response = &answer["response"];
    ensure!(
        response["uid"] == "0e9e7d2c-5c43-4b8e-9a51-3f1c2f7c9d10",
        "uid not echoed: {answer}"
    );
    ensure!(
        response["patchType"] == "JSONPatch",
        "patchType: {}",
        response["patchType"]
    );
    ensure!(
        response["patch"].is_string(),
        "patch is not a base64 string: {}",
        response["patch"]
    );
    let ops = decode_patch(&response["patch"])?;
    let ops = ops.as_array().context("the patch is not a JSON array")?;
    ensure!(
        ops.iter().any(|op| op["path"] == "/spec/initContainers"),
        "no initContainers op in {ops:?}"
    );
    Ok(())
}
