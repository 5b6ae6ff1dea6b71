//! Shared harness of the registry tests: real `docker-registry` processes on free loopback
//! ports (started by `e2e/stack/registry.sh`), the test images pushed once per test binary
//! (`e2e/stack/test-images.sh`), a fake [`CredentialSource`], and a delaying TCP proxy.
//! Nothing here skips: a missing tool fails the test with the script's message.
#![allow(dead_code, missing_docs)]

pub mod token;

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{LocalObjectReference, Secret, ServiceAccount};
use respawn_webhook::images::registry::{
    CredentialError, CredentialSource, DOCKER_CONFIG_JSON, Fetcher, RegistryMetrics, RegistryOptions,
    RegistryProvider,
};
use respawn_webhook::images::{LookupRequest, Platform};

pub const USER: &str = "tester";
pub const PASSWORD: &str = "s3cret-pw";

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs a stack script; panics with its output when it fails.
pub fn script(name: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let path = repo_root().join("e2e/stack").join(name);
    let out = Command::new(&path)
        .args(args)
        .envs(env.iter().copied())
        .env("REGISTRY_OWNER_PID", std::process::id().to_string())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "{name} {args:?} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    stdout.into_owned()
}

/// One `docker-registry` process; stopped on drop (and when the test process exits).
pub struct Registry {
    pub dir: PathBuf,
    pub port: u16,
    _tmp: tempfile::TempDir,
}

impl Registry {
    /// `auth`: `start` arguments after DIR PORT (e.g. `["user:pass"]`); `shared`: serve the
    /// images of another registry's storage; `env`: TLS settings.
    pub fn start(mode: &str, auth: &[&str], shared: Option<&Registry>, env: &[(&str, &str)]) -> Registry {
        assert!(
            Path::new("/usr/bin/docker-registry").exists(),
            "docker-registry is not installed: run `make deps` (apt-get install docker-registry)"
        );
        let tmp = tempfile::Builder::new()
            .prefix("registry-")
            .tempdir_in(option_env!("CARGO_TARGET_TMPDIR").map_or_else(std::env::temp_dir, PathBuf::from))
            .unwrap();
        let dir = tmp.path().to_path_buf();
        if let Some(other) = shared {
            std::os::unix::fs::symlink(other.dir.join("data"), dir.join("data")).unwrap();
        }
        let port = free_port();
        let (d, p) = (dir.to_str().unwrap().to_string(), port.to_string());
        let mut args = vec![mode, d.as_str(), p.as_str()];
        args.extend_from_slice(auth);
        script("registry.sh", &args, env);
        Registry { dir, port, _tmp: tmp }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `HOST/respawn-test/NAME:v1`.
    pub fn image(&self, name: &str) -> String {
        format!("{}/respawn-test/{name}:v1", self.host())
    }

    /// Access-log lines of GETs of `path` (e.g. `/v2/respawn-test/oci/manifests/v1`).
    pub fn count_gets(&self, path: &str) -> usize {
        let log = std::fs::read_to_string(self.dir.join("registry.log")).unwrap();
        let needle = format!("\"GET {path} HTTP/1.1\"");
        log.lines().filter(|l| l.contains(&needle)).count()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = Command::new(repo_root().join("e2e/stack/registry.sh"))
            .args(["stop", self.dir.to_str().unwrap()])
            .status();
    }
}

/// Name → manifest digest of every pushed test image.
pub type Digests = HashMap<String, String>;

/// Pushes the test images; returns their digests.
pub fn push_images(registry: &Registry, creds: Option<&str>) -> Digests {
    let host = registry.host();
    let mut args = vec![host.as_str()];
    if let Some(c) = creds {
        args.extend(["--creds", c]);
    }
    let out = script("test-images.sh", &args, &[]);
    out.lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(n, d)| (n.to_string(), d.to_string()))
        .collect()
}

/// The open registry of this test binary, with the test images, started once.
pub fn open_registry() -> &'static (Registry, Digests) {
    static OPEN: OnceLock<(Registry, Digests)> = OnceLock::new();
    OPEN.get_or_init(|| {
        let r = Registry::start("start", &[], None, &[]);
        let digests = push_images(&r, None);
        assert!(digests.len() >= 11, "test-images.sh pushed only {digests:?}");
        (r, digests)
    })
}

/// A runtime that outlives single tests, for servers shared by a whole test binary.
pub fn background() -> &'static tokio::runtime::Handle {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
    .handle()
}

/// A provider with default options, plain HTTP for `insecure`, and `creds`.
pub fn provider_with(
    opts: RegistryOptions,
    creds: Option<Arc<dyn CredentialSource>>,
) -> (RegistryProvider, RegistryMetrics) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let metrics = RegistryMetrics::new();
    let p = RegistryProvider::new(
        Fetcher::new(opts.fetch_settings().unwrap()).unwrap(),
        opts.ttls(),
        opts.cache_capacity,
        creds,
        opts.global_secret().unwrap(),
        std::time::Duration::from_secs(opts.credential_ttl),
        metrics.clone(),
    );
    (p, metrics)
}

pub fn insecure(hosts: &[String]) -> RegistryOptions {
    RegistryOptions {
        insecure_registries: hosts.to_vec(),
        ..RegistryOptions::default()
    }
}

/// A lookup in `namespace` with a 5 s budget.
pub fn request(image: &str, namespace: &str) -> LookupRequest {
    LookupRequest {
        image: image.to_string(),
        namespace: namespace.to_string(),
        pull_secrets: Vec::new(),
        service_account: "default".into(),
        platform: Platform::default(),
        deadline: Instant::now() + Duration::from_secs(5),
    }
}

pub fn arm64() -> Platform {
    Platform {
        os: "linux".into(),
        architecture: "arm64".into(),
        variant: None,
    }
}

/// A `kubernetes.io/dockerconfigjson` secret for `host`.
pub fn pull_secret(namespace: &str, name: &str, host: &str, user: &str, password: &str) -> Secret {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let json = serde_json::json!({"auths": {host: {"auth": auth}}}).to_string();
    Secret {
        metadata: kube::api::ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            ..Default::default()
        },
        type_: Some(DOCKER_CONFIG_JSON.into()),
        data: Some([(".dockerconfigjson".to_string(), ByteString(json.into_bytes()))].into()),
        ..Default::default()
    }
}

/// In-memory Secrets and ServiceAccounts, counting reads.
#[derive(Default)]
pub struct FakeCredentials {
    secrets: Mutex<HashMap<(String, String), Secret>>,
    accounts: Mutex<HashMap<(String, String), ServiceAccount>>,
    pub reads: AtomicUsize,
}

impl FakeCredentials {
    pub fn add_secret(&self, secret: Secret) {
        let key = (
            secret.metadata.namespace.clone().unwrap(),
            secret.metadata.name.clone().unwrap(),
        );
        self.secrets.lock().unwrap().insert(key, secret);
    }

    pub fn add_service_account(&self, namespace: &str, name: &str, pull_secrets: &[&str]) {
        let sa = ServiceAccount {
            image_pull_secrets: Some(
                pull_secrets
                    .iter()
                    .map(|n| LocalObjectReference { name: n.to_string() })
                    .collect(),
            ),
            ..Default::default()
        };
        self.accounts
            .lock()
            .unwrap()
            .insert((namespace.into(), name.into()), sa);
    }
}

#[async_trait::async_trait]
impl CredentialSource for FakeCredentials {
    async fn secret(&self, namespace: &str, name: &str) -> Result<Option<Secret>, CredentialError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        Ok(self
            .secrets
            .lock()
            .unwrap()
            .get(&(namespace.into(), name.into()))
            .cloned())
    }

    async fn service_account(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<ServiceAccount>, CredentialError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        Ok(self
            .accounts
            .lock()
            .unwrap()
            .get(&(namespace.into(), name.into()))
            .cloned())
    }
}

/// A loopback TCP proxy to `upstream` that waits `delay` before relaying each connection.
pub struct SlowProxy {
    pub port: u16,
    pub delay_ms: Arc<AtomicU64>,
    pub connections: Arc<AtomicUsize>,
}

impl SlowProxy {
    pub fn start(upstream: u16, delay: Duration) -> SlowProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let delay_ms = Arc::new(AtomicU64::new(delay.as_millis() as u64));
        let connections = Arc::new(AtomicUsize::new(0));
        let (d, c) = (Arc::clone(&delay_ms), Arc::clone(&connections));
        background().spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    continue;
                };
                c.fetch_add(1, Ordering::SeqCst);
                let wait = Duration::from_millis(d.load(Ordering::SeqCst));
                tokio::spawn(async move {
                    tokio::time::sleep(wait).await;
                    if let Ok(mut up) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut up).await;
                    }
                });
            }
        });
        SlowProxy {
            port,
            delay_ms,
            connections,
        }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}
