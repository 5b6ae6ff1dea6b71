//! Who gets injected: namespace label, pod label, pod opt-out, unlabelled pods, system namespaces.

use anyhow::{Result, ensure};
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams};
use respawn_e2e::pods::{self, OPT_IN, OPT_OUT, assert_injected, assert_untouched};
use respawn_e2e::{INJECT_LABEL, INJECTED_LABEL, Stack, with_ns};

const CMD: &[&str] = &["/bin/busybox", "sleep"];
const ARGS: &[&str] = &["3600"];

#[tokio::test]
async fn namespace_label_opts_every_pod_in() -> Result<()> {
    with_ns("ns-opt-in", &[OPT_IN], |ns| async move {
        let pod = pods::pod("app", &[], &crate::image("oci")?, Some(CMD), Some(ARGS));
        let stored = ns.create_pod(&pod).await?;
        assert_injected(&stored, "app", &["/bin/busybox", "sleep", "3600"])?;
        // Labelled too: the configuration's objectSelector skips injected pods by this label.
        let label = stored
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(INJECTED_LABEL));
        ensure!(
            label.map(String::as_str) == Some("true"),
            "{}: {label:?}",
            INJECTED_LABEL
        );
        // What the apiserver returned is what it stored.
        let read = ns.pods().get("app").await?;
        assert_injected(&read, "app", &["/bin/busybox", "sleep", "3600"])
    })
    .await
}

#[tokio::test]
async fn pod_label_opts_one_pod_in() -> Result<()> {
    with_ns("pod-opt-in", &[], |ns| async move {
        let pod = pods::pod("app", &[OPT_IN], &crate::image("oci")?, Some(CMD), Some(ARGS));
        assert_injected(
            &ns.create_pod(&pod).await?,
            "app",
            &["/bin/busybox", "sleep", "3600"],
        )
    })
    .await
}

#[tokio::test]
async fn pod_label_opts_out_of_an_enabled_namespace() -> Result<()> {
    with_ns("pod-opt-out", &[OPT_IN], |ns| async move {
        let pod = pods::pod("app", &[OPT_OUT], &crate::image("oci")?, Some(CMD), Some(ARGS));
        assert_untouched(&ns.create_pod(&pod).await?, "app", Some(CMD), Some(ARGS))
    })
    .await
}

/// The label the webhook marks injected pods with is read as "already injected": a pod carrying
/// it is admitted unchanged (the configuration's objectSelector does not even send it).
#[tokio::test]
async fn a_pod_labelled_injected_is_left_alone() -> Result<()> {
    with_ns("labelled-injected", &[OPT_IN], |ns| async move {
        let label = (INJECTED_LABEL, "true");
        let pod = pods::pod("app", &[label], &crate::image("oci")?, Some(CMD), Some(ARGS));
        assert_untouched(&ns.create_pod(&pod).await?, "app", Some(CMD), Some(ARGS))
    })
    .await
}

#[tokio::test]
async fn unlabelled_pod_in_unlabelled_namespace_is_untouched() -> Result<()> {
    with_ns("unlabelled", &[], |ns| async move {
        let pod = pods::pod("app", &[], &crate::image("oci")?, Some(CMD), Some(ARGS));
        assert_untouched(&ns.create_pod(&pod).await?, "app", Some(CMD), Some(ARGS))
    })
    .await
}

/// kube-system opted in by label (the e2e webhook configuration deliberately does not exclude
/// system namespaces by selector), so the apiserver does send the pod: the webhook itself must
/// leave it alone.
#[tokio::test]
async fn kube_system_is_untouched_even_when_labelled() -> Result<()> {
    let client = Stack::get().client().await?;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let label = serde_json::json!({"metadata": {"labels": {INJECT_LABEL: "enabled"}}});
    namespaces
        .patch("kube-system", &PatchParams::default(), &Patch::Merge(&label))
        .await?;
    // The ServiceAccount plugin needs kube-system/default; the controller-manager may not have
    // created it yet right after the stack started.
    let sa = k8s_openapi::api::core::v1::ServiceAccount {
        metadata: kube::api::ObjectMeta {
            name: Some("default".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let sas: Api<k8s_openapi::api::core::v1::ServiceAccount> = Api::namespaced(client.clone(), "kube-system");
    match sas.create(&Default::default(), &sa).await {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 409 => {}
        Err(e) => return Err(e.into()),
    }
    let name = format!("e2e-system-{}", respawn_e2e::temp_ns::unique_suffix());
    let pod = pods::pod(&name, &[OPT_IN], &crate::image("oci")?, Some(CMD), Some(ARGS));
    let api: Api<Pod> = Api::namespaced(client.clone(), "kube-system");
    let created = api.create(&Default::default(), &pod).await;
    let _ = api.delete(&name, &DeleteParams::default()).await;
    let unlabel = serde_json::json!({"metadata": {"labels": {INJECT_LABEL: null}}});
    namespaces
        .patch("kube-system", &PatchParams::default(), &Patch::Merge(&unlabel))
        .await?;
    assert_untouched(&created?, "app", Some(CMD), Some(ARGS))
}
