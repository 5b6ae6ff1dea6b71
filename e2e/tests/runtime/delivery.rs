//! Image-volume delivery (`respawn.dev/delivery: image-volume`) on a real node: no init
//! container; the supervisor image itself is mounted read-only at `/respawn` as an OCI image
//! volume (Kubernetes 1.36 + containerd 2.2), and the app runs under it and restarts in place.

use anyhow::{Context, Result, ensure};
use respawn_e2e::node;
use respawn_e2e::{pods, with_ns};
use serde_json::json;

use crate::{APP_START, app_pod, status};

#[tokio::test]
async fn image_volume_delivery_runs_the_supervisor_from_its_image() -> Result<()> {
    let (_, images, k) = crate::local()?;
    with_ns("image-volume", &[pods::OPT_IN], |ns| async move {
        let pod = app_pod(
            "iv",
            &images.sample_app,
            json!({"respawn.dev/delivery": "image-volume"}),
        );
        let stored = ns.create_pod(&pod).await?;
        ensure!(pods::is_injected(&stored), "not injected");
        let spec = stored.spec.as_ref().context("no spec")?;
        let inits: Vec<_> = spec
            .init_containers
            .iter()
            .flatten()
            .map(|c| c.name.clone())
            .collect();
        ensure!(
            inits.is_empty(),
            "image-volume delivery added init containers {inits:?}"
        );
        let volume = spec
            .volumes
            .iter()
            .flatten()
            .find(|v| v.name == pods::VOLUME_NAME)
            .context("no respawn volume")?;
        let reference = volume.image.as_ref().and_then(|i| i.reference.clone());
        ensure!(
            reference.as_deref() == Some(&images.supervisor),
            "the respawn volume is {volume:?}, want an image volume of {}",
            images.supervisor
        );
        node::wait_running(&ns, "iv").await?;
        let logs = k.wait_for_log(&ns.name, "iv", "app", APP_START, 1)?;
        let first = crate::started_pids(&logs, APP_START)[0];
        ensure!(
            status(&k, &ns.name, "iv")?.pid == first,
            "status does not name pid {first}"
        );
        k.exec(&ns.name, "iv", None, &[pods::SUPERVISOR_PATH, "restart"])?;
        k.wait_for_log(&ns.name, "iv", "app", APP_START, 2)?;
        ensure!(
            status(&k, &ns.name, "iv")?.generation == 2,
            "no second generation"
        );
        Ok(())
    })
    .await
}
