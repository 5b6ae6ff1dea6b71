//! The argv table (docs/webhook.md) with real images from the local registry: what the apiserver
//! stores is `/respawn/respawn -- <exactly what the kubelet would have run>`.

use anyhow::{Result, ensure};
use respawn_e2e::pods::{self, OPT_IN, annotation, assert_injected};
use respawn_e2e::with_ns;
use serde_json::{Value, json};

/// Creates a one-container pod in an opted-in namespace and checks the stored argv.
async fn row(
    prefix: &str,
    image: &str,
    command: Option<&[&str]>,
    args: Option<&[&str]>,
    want: &[&str],
) -> Result<()> {
    let image = crate::image(image)?;
    let want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    with_ns(prefix, &[OPT_IN], |ns| async move {
        let pod = pods::pod("app", &[], &image, command, args);
        let stored = ns.create_pod(&pod).await?;
        let want: Vec<&str> = want.iter().map(String::as_str).collect();
        assert_injected(&stored, "app", &want)?;
        let original = annotation(&stored, "respawn.dev/original-argv").unwrap_or_default();
        ensure!(!original.is_empty(), "no respawn.dev/original-argv annotation");
        serde_json::from_str::<Value>(original)?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn neither_set_runs_image_entrypoint_and_cmd() -> Result<()> {
    row(
        "argv-unset-unset",
        "oci",
        None,
        None,
        &["/bin/busybox", "sleep", "3600"],
    )
    .await
}

#[tokio::test]
async fn args_set_replace_image_cmd() -> Result<()> {
    row(
        "argv-unset-set",
        "oci",
        None,
        Some(&["60"]),
        &["/bin/busybox", "sleep", "60"],
    )
    .await
}

#[tokio::test]
async fn command_set_ignores_image_entrypoint_and_cmd() -> Result<()> {
    row(
        "argv-set-unset",
        "oci",
        Some(&["/bin/busybox", "true"]),
        None,
        &["/bin/busybox", "true"],
    )
    .await
}

#[tokio::test]
async fn command_and_args_set_are_copied_verbatim() -> Result<()> {
    let (cmd, args): (&[&str], &[&str]) = (&["/bin/sh", "-c"], &["echo $(GREETING) $$HOME"]);
    row(
        "argv-set-set",
        "oci",
        Some(cmd),
        Some(args),
        &["/bin/sh", "-c", "echo $(GREETING) $$HOME"],
    )
    .await
}

#[tokio::test]
async fn docker_schema2_image_is_looked_up() -> Result<()> {
    row(
        "argv-docker",
        "docker",
        None,
        None,
        &["/bin/busybox", "sleep", "3600"],
    )
    .await
}

/// Creates a pod of an index image whose linux/amd64 and linux/arm64 entries differ and runs
/// `check` on its `app` container's stored args.
async fn index_row(
    prefix: &str,
    node_selector: Option<Value>,
    check: fn(&[String]) -> Result<()>,
) -> Result<()> {
    let image = crate::image("index")?;
    with_ns(prefix, &[OPT_IN], |ns| async move {
        let mut pod = serde_json::to_value(pods::pod("app", &[], &image, None, None))?;
        if let Some(sel) = node_selector {
            pod["spec"]["nodeSelector"] = sel;
        }
        let stored = ns.create_pod(&pods::from_json(pod)).await?;
        ensure!(pods::is_injected(&stored), "not injected");
        check(
            pods::container(&stored, "app")?
                .args
                .as_deref()
                .unwrap_or_default(),
        )
    })
    .await
}

#[tokio::test]
async fn unpinned_index_gives_the_supervisor_every_platforms_argv() -> Result<()> {
    // The pod may land on either architecture: amd64's argv after `--` (the default platform),
    // arm64's in an `--argv-for` entry the arm64 supervisor picks.
    index_row("argv-index", None, |args| {
        ensure!(args.first().map(String::as_str) == Some("--argv-for"), "{args:?}");
        ensure!(args.get(1).map(String::as_str) == Some("linux/arm64"), "{args:?}");
        let n: usize = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(0);
        ensure!(n >= 3 && args.len() > 3 + n, "{args:?}");
        ensure!(args[3..6] == ["/bin/busybox", "echo", "arm64"], "{args:?}");
        ensure!(
            args[3 + n..] == ["--", "/bin/busybox", "sleep", "3600"],
            "{args:?}"
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn index_pinned_to_arm64_runs_the_arm64_argv() -> Result<()> {
    index_row(
        "argv-index-arm",
        Some(json!({"kubernetes.io/arch": "arm64"})),
        |args| {
            ensure!(args.len() >= 4, "{args:?}");
            ensure!(
                args[..4] == ["--", "/bin/busybox", "echo", "arm64"],
                "pinned: no --argv-for: {args:?}"
            );
            Ok(())
        },
    )
    .await
}

#[tokio::test]
async fn entrypoint_only_image() -> Result<()> {
    row(
        "argv-ep-only",
        "entrypoint-only",
        None,
        None,
        &["/bin/busybox", "sleep", "3600"],
    )
    .await
}

#[tokio::test]
async fn cmd_only_image_with_args_runs_args() -> Result<()> {
    // No ENTRYPOINT: pod args replace CMD, so args alone are the argv.
    row(
        "argv-cmd-only",
        "cmd-only",
        None,
        Some(&["/bin/busybox", "sleep", "5"]),
        &["/bin/busybox", "sleep", "5"],
    )
    .await
}

#[tokio::test]
async fn shell_form_cmd_is_kept_as_sh_c() -> Result<()> {
    let want = ["/bin/sh", "-c", "echo shell-form; exec /bin/busybox sleep 3600"];
    row("argv-shell", "shell-form", None, None, &want).await
}

/// Every `$` of an image-derived string is doubled, so the kubelet's `$(VAR)` expansion gives
/// the process the image's original bytes.
#[tokio::test]
async fn dollar_in_image_cmd_arrives_escaped() -> Result<()> {
    let want = [
        "/bin/sh",
        "-c",
        "echo 'dollar: $$HOME $$(VAR) $$$$ end'; exec /bin/busybox sleep 3600",
    ];
    row("argv-dollar", "dollar", None, None, &want).await
}

/// A user's `$(VAR)` in args stays as written (the kubelet expands it from the pod's env), while
/// the image ENTRYPOINT in front of it is escaped.
#[tokio::test]
async fn user_var_reference_is_kept() -> Result<()> {
    let image = crate::image("oci")?;
    with_ns("argv-user-var", &[OPT_IN], |ns| async move {
        let pod = pods::from_json(json!({
            "metadata": {"name": "app"},
            "spec": {"containers": [{
                "name": "app", "image": image, "args": ["$(SECONDS_TO_SLEEP)"],
                "env": [{"name": "SECONDS_TO_SLEEP", "value": "42"}]
            }]}
        }));
        let stored = ns.create_pod(&pod).await?;
        assert_injected(&stored, "app", &["/bin/busybox", "sleep", "$(SECONDS_TO_SLEEP)"])?;
        let env = pods::container(&stored, "app")?.env.clone().unwrap_or_default();
        ensure!(
            env.iter().any(|e| e.name == "SECONDS_TO_SLEEP"),
            "the pod's env was changed: {env:?}"
        );
        Ok(())
    })
    .await
}
