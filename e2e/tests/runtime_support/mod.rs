//! Running a pod the real webhook mutated through the real apiserver with `podman kube play`
//! (runc): image provisioning, the documented translation (`e2e/stack/pod-to-podman.py`), and
//! podman helpers. Every pod played is torn down when its [`Played`] guard drops.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use k8s_openapi::api::core::v1::Pod;
use respawn_e2e::stack::repo_root;
use respawn_e2e::{Stack, pods};

/// Images pushed to the stack's open registry by `e2e/stack/images.sh`.
pub struct Images {
    /// `host:port/respawn-sample-app:TAG`: no shell, ENTRYPOINT + CMD in the image.
    pub sample_app: String,
    /// `host:port/respawn-sample-shell:TAG`: busybox, exits 42 on SIGTERM.
    pub sample_shell: String,
    /// The supervisor image the stack built from this tree and pushed, by digest
    /// (`SUPERVISOR_IMAGE` in stack.env): what the stack's webhook injects.
    pub supervisor: String,
}

/// Builds the sample images once per test binary and pushes them to the stack's registry (the
/// stack itself pushed the supervisor image and configured the webhook with it).
pub fn images(stack: &Stack) -> Result<&'static Images> {
    static IMAGES: OnceLock<Result<Images, String>> = OnceLock::new();
    let built = IMAGES.get_or_init(|| build_images(stack).map_err(|e| format!("{e:#}")));
    built
        .as_ref()
        .map_err(|e| anyhow::anyhow!("building the images failed: {e}"))
}

fn build_images(stack: &Stack) -> Result<Images> {
    let registry = stack.registry()?;
    let out = Command::new(repo_root().join("e2e/stack/images.sh"))
        .arg("samples")
        .env("REGISTRY", &registry)
        .stderr(Stdio::inherit())
        .output()
        .context("running e2e/stack/images.sh")?;
    ensure!(
        out.status.success(),
        "e2e/stack/images.sh failed ({})",
        out.status
    );
    let refs = String::from_utf8(out.stdout)?;
    let find = |needle: &str| -> Result<String> {
        refs.lines()
            .find(|l| l.contains(needle))
            .map(str::to_string)
            .with_context(|| format!("images.sh printed no {needle} reference:\n{refs}"))
    };
    Ok(Images {
        sample_app: find(&format!("{registry}/respawn-sample-app:"))?,
        sample_shell: find(&format!("{registry}/respawn-sample-shell:"))?,
        supervisor: stack.var("SUPERVISOR_IMAGE")?.to_string(),
    })
}

/// Runs a command, returning stdout; fails with stderr when it exits non-zero.
pub fn run(program: &str, args: &[&str]) -> Result<String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("running {program}"))?;
    if !out.status.success() {
        bail!(
            "{program} {} failed ({}): {}{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `podman <args>`.
pub fn podman(args: &[&str]) -> Result<String> {
    run("podman", args)
}

/// A pod running under `podman kube play`; `podman kube play --down` when dropped.
pub struct Played {
    /// The pod's name (also podman's pod name).
    pub name: String,
    yaml: PathBuf,
}

impl Played {
    /// podman's name for container `container` of this pod.
    pub fn ctr(&self, container: &str) -> String {
        format!("{}-{container}", self.name)
    }
}

impl Drop for Played {
    fn drop(&mut self) {
        if std::env::var_os("RESPAWN_E2E_KEEP").is_none() {
            let _ = Command::new("podman")
                .args(["kube", "play", "--down"])
                .arg(&self.yaml)
                .output();
        }
        let _ = std::fs::remove_file(&self.yaml);
    }
}

/// Checks that the init container runs exactly the supervisor image the stack pushed (by digest),
/// so what podman pulls and runs is what the webhook injected: nothing is retagged locally.
pub fn check_supervisor(pod: &Pod, images: &Images) -> Result<()> {
    let spec = pod.spec.as_ref().context("pod has no spec")?;
    let init = spec
        .init_containers
        .iter()
        .flatten()
        .find(|c| c.name == pods::INIT_NAME)
        .context("the stored pod has no respawn-install init container")?;
    let image = init.image.as_deref().context("respawn-install has no image")?;
    ensure!(
        image == images.supervisor,
        "the webhook injected supervisor image {image}, the stack pushed {}",
        images.supervisor
    );
    Ok(())
}

/// Translates the stored pod (`e2e/stack/pod-to-podman.py`) and plays it with runc, pulling
/// images from the local registry without TLS verification. podman's pod is named
/// `<pod>-<namespace>`, unique across tests and runs sharing this machine's podman.
pub fn play(pod: &Pod) -> Result<Played> {
    let pod_name = pod.metadata.name.as_deref().context("stored pod has no name")?;
    let namespace = pod
        .metadata
        .namespace
        .as_deref()
        .context("stored pod has no namespace")?;
    let name = format!("{pod_name}-{namespace}");
    let yaml = std::env::temp_dir().join(format!("respawn-play-{name}.yaml"));
    let mut child = Command::new(repo_root().join("e2e/stack/pod-to-podman.py"))
        .args(["--name", &name])
        .stdin(Stdio::piped())
        .stdout(std::fs::File::create(&yaml)?)
        .spawn()
        .context("running pod-to-podman.py")?;
    child
        .stdin
        .take()
        .context("stdin")?
        .write_all(&serde_json::to_vec(pod)?)?;
    ensure!(child.wait()?.success(), "pod-to-podman.py failed");
    let played = Played { name, yaml };
    let yaml_path = played.yaml.to_string_lossy().into_owned();
    podman(&["kube", "play", "--tls-verify=false", &yaml_path]).with_context(|| {
        format!(
            "podman kube play of:\n{}",
            std::fs::read_to_string(&played.yaml).unwrap_or_default()
        )
    })?;
    Ok(played)
}

/// The container's logs (stdout and stderr).
pub fn logs(ctr: &str) -> Result<String> {
    let out = Command::new("podman").args(["logs", ctr]).output()?;
    Ok(format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

/// Waits until the container's logs contain `needle` at least `count` times; returns the logs.
pub fn wait_for_log(ctr: &str, needle: &str, count: usize, timeout: Duration) -> Result<String> {
    let start = Instant::now();
    loop {
        let text = logs(ctr)?;
        if text.matches(needle).count() >= count {
            return Ok(text);
        }
        if start.elapsed() > timeout {
            bail!("{ctr}: {needle:?} did not appear {count} time(s) within {timeout:?}; logs:\n{text}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `podman inspect --format FORMAT ctr`, trimmed.
pub fn inspect(ctr: &str, format: &str) -> Result<String> {
    Ok(podman(&["inspect", "--format", format, ctr])?.trim().to_string())
}

/// The pids printed by sample-app's start lines, in order.
pub fn started_pids(logs: &str, marker: &str) -> Vec<u32> {
    logs.lines()
        .filter_map(|l| l.split(marker).nth(1))
        .filter_map(|rest| rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
        .collect()
}
