//! The stack as seen from a test. Two modes:
//! - **local** (default): brought up once per test binary with `e2e/stack/stack.sh up`
//!   (idempotent, so `e2e/run.sh` and several test binaries share one stack), then read from
//!   `$RESPAWN_STACK_DIR/stack.env`;
//! - **existing cluster**: `RESPAWN_E2E_STACK_ENV=FILE` names an env file (`export NAME='value'`
//!   lines) with `KUBECONFIG`, `REGISTRY_HOST` (the registry holding the test images, as the
//!   cluster and the webhook reach it) and optionally `WEBHOOK_NAMESPACE` and `RESPAWN_CLUSTER`
//!   (a name for messages). Nothing is started. Tests that need what only the local stack has (its
//!   webhook process, log, ports and CA, an apiserver that reaches this host's loopback, the
//!   htpasswd registry, podman) call [`Stack::local_only`] and fail loudly in this mode; runners
//!   skip them by name (`local_only::`) and list them as not run (`e2e/stack/cluster-suite.sh`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{Context, Result, bail};
use kube::config::{KubeConfigOptions, Kubeconfig};

/// Ports, paths and credentials of the running stack.
#[derive(Debug, Clone)]
pub struct Stack {
    /// The state directory (`$RESPAWN_STACK_DIR`).
    pub dir: PathBuf,
    /// Everything `stack.env` exports.
    pub env: HashMap<String, String>,
    /// Which kind of stack this is.
    pub mode: Mode,
}

/// Where the tests run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The local stack started by `e2e/stack/stack.sh up`.
    Local,
    /// An existing cluster described by `RESPAWN_E2E_STACK_ENV`.
    Cluster,
}

/// The environment variable naming an existing cluster's env file.
pub const STACK_ENV_VAR: &str = "RESPAWN_E2E_STACK_ENV";

static STACK: OnceLock<Result<Stack, String>> = OnceLock::new();

/// The repository root (the e2e crate's parent directory).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("e2e/ has a parent")
        .to_path_buf()
}

impl Stack {
    /// The stack, started on first use. Panics with the script's output when it cannot start:
    /// every e2e test needs it, and none may pass without it.
    pub fn get() -> &'static Stack {
        let init = || match std::env::var_os(STACK_ENV_VAR) {
            Some(file) => Stack::attach(Path::new(&file)),
            None => Stack::up(),
        };
        match STACK.get_or_init(|| init().map_err(|e| format!("{e:#}"))) {
            Ok(stack) => stack,
            Err(e) => panic!("the e2e stack is not available: {e}"),
        }
    }

    /// The stack, failing when the tests target an existing cluster: for tests that need what
    /// only the local stack has (`what` says which). Such tests live under `local_only::`.
    pub fn local_only(what: &str) -> Result<&'static Stack> {
        let stack = Stack::get();
        if stack.mode == Mode::Cluster {
            let msg = format!(
                "NOT APPLICABLE against an existing cluster ({}): this test needs {what}, which only \
                 the local stack has. Run the suite in this mode with e2e/stack/cluster-suite.sh, \
                 which skips local_only:: tests and lists them as not run.",
                stack.cluster_name()
            );
            eprintln!("e2e: {msg}");
            bail!(msg);
        }
        Ok(stack)
    }

    /// An existing cluster from its env file: `KUBECONFIG` and `REGISTRY_HOST` are required.
    fn attach(env_file: &Path) -> Result<Stack> {
        let mut stack =
            Stack::load(env_file).with_context(|| format!("{STACK_ENV_VAR}={}", env_file.display()))?;
        stack.mode = Mode::Cluster;
        for name in ["KUBECONFIG", "REGISTRY_HOST"] {
            stack.var(name)?;
        }
        let kubeconfig = Path::new(stack.var("KUBECONFIG")?);
        anyhow::ensure!(
            kubeconfig.is_file(),
            "KUBECONFIG {} from {} is not a file",
            kubeconfig.display(),
            env_file.display()
        );
        eprintln!(
            "e2e: existing-cluster mode ({STACK_ENV_VAR}={}): cluster {}, registry {}; no local stack is started",
            env_file.display(),
            stack.cluster_name(),
            stack.registry()?
        );
        Ok(stack)
    }

    /// `RESPAWN_CLUSTER` from the env file, else `local`/`cluster`.
    pub fn cluster_name(&self) -> &str {
        match (self.env.get("RESPAWN_CLUSTER"), self.mode) {
            (Some(name), _) => name,
            (None, Mode::Local) => "local",
            (None, Mode::Cluster) => "cluster",
        }
    }

    fn up() -> Result<Stack> {
        let script = repo_root().join("e2e/stack/stack.sh");
        let out = Command::new(&script)
            .arg("up")
            .output()
            .with_context(|| format!("running {}", script.display()))?;
        if !out.status.success() {
            bail!(
                "{} up failed ({}):\n{}",
                script.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let stdout = String::from_utf8(out.stdout)?;
        let env_file = PathBuf::from(stdout.lines().last().unwrap_or_default().trim());
        Stack::load(&env_file)
    }

    /// Reads a `stack.env` file (`export NAME='value'` lines).
    pub fn load(env_file: &Path) -> Result<Stack> {
        let text =
            std::fs::read_to_string(env_file).with_context(|| format!("reading {}", env_file.display()))?;
        let env: HashMap<String, String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("export "))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
            .collect();
        let dir = env_file
            .parent()
            .context("stack.env has no parent")?
            .to_path_buf();
        Ok(Stack {
            dir,
            env,
            mode: Mode::Local,
        })
    }

    /// A value from `stack.env`; fails with a clear message when the stack did not set it.
    pub fn var(&self, name: &str) -> Result<&str> {
        self.env.get(name).map(String::as_str).with_context(|| {
            format!(
                "{name} is not set in the env file in {}: that part of the stack is not up",
                self.dir.display()
            )
        })
    }

    /// A client for the stack's kube-apiserver, as the admin user. Make one per test: a client is
    /// tied to the tokio runtime it was created on.
    pub async fn client(&self) -> Result<kube::Client> {
        let kubeconfig = Kubeconfig::read_from(self.var("KUBECONFIG")?)?;
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
        Ok(kube::Client::try_from(config)?)
    }

    /// `host:port` of the open registry holding the test images: `REGISTRY_HOST` when the env file
    /// sets it, else the local stack's `127.0.0.1:REGISTRY_PORT`.
    pub fn registry(&self) -> Result<String> {
        match self.env.get("REGISTRY_HOST") {
            Some(host) => Ok(host.clone()),
            None => Ok(format!("127.0.0.1:{}", self.var("REGISTRY_PORT")?)),
        }
    }

    /// A test image pushed by `e2e/stack/test-images.sh`: `REGISTRY/respawn-test/NAME:v1`.
    pub fn test_image(&self, name: &str) -> Result<String> {
        Ok(format!("{}/respawn-test/{name}:v1", self.registry()?))
    }

    /// The value of one sample of respawn-webhook's `/metrics`, e.g.
    /// `respawn_webhook_pods_skipped_total{reason="already_injected"}` (0 when absent).
    pub fn webhook_metric(&self, sample: &str) -> Result<f64> {
        use std::io::{Read, Write};
        let addr = format!("127.0.0.1:{}", self.var("WEBHOOK_METRICS_PORT")?);
        let mut stream =
            std::net::TcpStream::connect(&addr).with_context(|| format!("connecting to {addr}"))?;
        stream.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
        write!(stream, "GET /metrics HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
        let mut text = String::new();
        stream.read_to_string(&mut text)?;
        let value = text
            .lines()
            .find_map(|l| l.strip_prefix(sample).and_then(|rest| rest.strip_prefix(' ')))
            .map(|v| v.trim().parse::<f64>())
            .transpose()?;
        Ok(value.unwrap_or(0.0))
    }

    /// The webhook's log so far, without ANSI colour codes.
    pub fn webhook_log(&self) -> String {
        let raw = std::fs::read_to_string(self.dir.join("logs/respawn-webhook.log")).unwrap_or_default();
        strip_ansi(&raw)
    }

    /// The last `lines` lines of a component's log (`respawn-webhook`, `kube-apiserver`, ...).
    pub fn log_tail(&self, component: &str, lines: usize) -> String {
        if self.mode == Mode::Cluster {
            let ns = self
                .env
                .get("WEBHOOK_NAMESPACE")
                .map_or("<its namespace>", String::as_str);
            return format!(
                "(no local log against an existing cluster; try: kubectl -n {ns} logs -l app.kubernetes.io/name=respawn --tail {lines})"
            );
        }
        let path = self.dir.join("logs").join(format!("{component}.log"));
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let all: Vec<&str> = text.lines().collect();
                all[all.len().saturating_sub(lines)..].join("\n")
            }
            Err(e) => format!("(cannot read {}: {e})", path.display()),
        }
    }
}

/// Removes `ESC [ ... letter` sequences.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn ansi_codes_are_stripped() {
        assert_eq!(super::strip_ansi("\u{1b}[2ma\u{1b}[0m b=\u{1b}[3mc"), "a b=c");
    }
}
