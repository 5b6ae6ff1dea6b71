//! Command-line and environment configuration (`RESPAWN_WEBHOOK_*`), parsed with clap derive.
//!
//! [`Config`] is the whole CLI; [`Injection`] is the part the pure mutation needs.

use std::{net::SocketAddr, path::PathBuf, str::FromStr, time::Duration};

use crate::image::Platform;
use crate::registry::RegistryOptions;

/// `respawn-webhook`: a mutating admission webhook that wraps containers in the respawn supervisor.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "respawn-webhook", version, about)]
pub struct Config {
    /// HTTPS address of the admission endpoint (`POST /mutate`).
    #[arg(long, env = "RESPAWN_WEBHOOK_LISTEN", default_value = "0.0.0.0:8443")]
    pub listen: SocketAddr,

    /// Plain-HTTP address for `/healthz`, `/readyz` and `/metrics`.
    #[arg(long, env = "RESPAWN_WEBHOOK_METRICS_LISTEN", default_value = "0.0.0.0:8080")]
    pub metrics_listen: SocketAddr,

    /// TLS settings.
    #[command(flatten)]
    pub tls: TlsOptions,

    /// What gets injected.
    #[command(flatten)]
    pub injection: Injection,

    /// Time allowed for all image lookups of one pod (e.g. `2s`, `500ms`); never more than
    /// three quarters of the apiserver's `?timeout=`.
    #[arg(long, env = "RESPAWN_WEBHOOK_LOOKUP_BUDGET", default_value = "2s", value_parser = parse_duration)]
    pub lookup_budget: Duration,

    /// Largest accepted AdmissionReview body, in bytes.
    #[arg(long, env = "RESPAWN_WEBHOOK_MAX_BODY_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Time in-flight requests get to finish after SIGTERM/SIGINT.
    #[arg(long, env = "RESPAWN_WEBHOOK_SHUTDOWN_GRACE", default_value = "20s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,

    /// Registry access (W2's options).
    #[command(flatten)]
    pub registry: RegistryOptions,
}

/// TLS: certificate files (reloaded on change) or a self-signed certificate.
#[derive(Debug, Clone, clap::Args)]
pub struct TlsOptions {
    /// PEM certificate chain (leaf first). Without it a self-signed certificate is generated.
    #[arg(long, env = "RESPAWN_WEBHOOK_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "RESPAWN_WEBHOOK_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// How often the certificate files are checked for changes.
    #[arg(long, env = "RESPAWN_WEBHOOK_TLS_RELOAD_INTERVAL", default_value = "2s", value_parser = parse_duration)]
    pub tls_reload_interval: Duration,

    /// Extra DNS names for the self-signed certificate (e.g. `respawn-webhook.respawn.svc`);
    /// `127.0.0.1` and `localhost` are always included. Repeatable or comma-separated.
    #[arg(long = "tls-san", env = "RESPAWN_WEBHOOK_TLS_SAN", value_delimiter = ',')]
    pub tls_sans: Vec<String>,

    /// Write the PEM CA bundle clients must trust (the self-signed certificate, or the chain of
    /// `--tls-cert`) to this file at startup.
    #[arg(long, env = "RESPAWN_WEBHOOK_WRITE_CA")]
    pub write_ca: Option<PathBuf>,
}

/// Everything the pure mutation needs to know besides the pod and the image configs.
#[derive(Debug, Clone, clap::Args)]
pub struct Injection {
    /// Image of the supervisor (FROM scratch, the static binary at `/respawn`).
    #[arg(
        long,
        env = "RESPAWN_WEBHOOK_SUPERVISOR_IMAGE",
        default_value = "respawn-supervisor:latest"
    )]
    pub supervisor_image: String,

    /// imagePullPolicy of the injected init container.
    #[arg(long, env = "RESPAWN_WEBHOOK_SUPERVISOR_PULL_POLICY", default_value = "IfNotPresent",
          value_parser = ["Always", "IfNotPresent", "Never"])]
    pub supervisor_pull_policy: String,

    /// What to do with a pod whose image config cannot be looked up (per-pod annotation
    /// `respawn.dev/on-lookup-failure` overrides).
    #[arg(long, env = "RESPAWN_WEBHOOK_ON_LOOKUP_FAILURE", default_value = "allow")]
    pub on_lookup_failure: FailurePolicy,

    /// Platform (`os/arch[/variant]`) for pods without a `kubernetes.io/arch`/`os` nodeSelector.
    #[arg(long, env = "RESPAWN_WEBHOOK_DEFAULT_PLATFORM", default_value = "linux/amd64",
          value_parser = parse_platform)]
    pub default_platform: Platform,

    /// Namespaces never touched, besides kube-system, kube-public, kube-node-lease and
    /// `$POD_NAMESPACE`. Repeatable or comma-separated.
    #[arg(
        long = "exclude-namespace",
        env = "RESPAWN_WEBHOOK_EXCLUDE_NAMESPACE",
        value_delimiter = ','
    )]
    pub exclude_namespaces: Vec<String>,

    /// Cluster-wide default of a supervisor setting, `NAME=VALUE` with NAME a `respawn.dev/`
    /// setting annotation without its prefix (`on-exit=wait`, `watch=/app`, `stop-timeout=30s`).
    /// Pod annotations override it. Repeatable; the env variable holds one setting.
    #[arg(long = "default-setting", env = "RESPAWN_WEBHOOK_DEFAULT_SETTING",
          value_parser = crate::settings::parse_default)]
    pub default_settings: Vec<(String, String)>,

    /// The webhook's own namespace (always excluded); set from the downward API.
    #[arg(long, env = "POD_NAMESPACE", hide = true)]
    pub own_namespace: Option<String>,

    /// The init-container patch operation, rendered once (see `inject::InitHeads`).
    #[arg(skip)]
    pub rendered: std::sync::OnceLock<crate::inject::InitHeads>,
}

impl Injection {
    /// True when pods in `namespace` must never be touched.
    pub fn is_excluded(&self, namespace: &str) -> bool {
        const SYSTEM: [&str; 3] = ["kube-system", "kube-public", "kube-node-lease"];
        SYSTEM.contains(&namespace)
            || self.own_namespace.as_deref() == Some(namespace)
            || self.exclude_namespaces.iter().any(|n| n == namespace)
    }

    /// A configuration for tests and benchmarks: every default, the given supervisor image.
    pub fn for_tests(supervisor_image: &str) -> Self {
        Injection {
            supervisor_image: supervisor_image.to_string(),
            supervisor_pull_policy: "IfNotPresent".into(),
            on_lookup_failure: FailurePolicy::Allow,
            default_platform: Platform::default(),
            exclude_namespaces: Vec::new(),
            default_settings: Vec::new(),
            own_namespace: None,
            rendered: Default::default(),
        }
    }
}

/// Lookup-failure policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailurePolicy {
    /// Admit the pod unchanged, with a warning.
    Allow,
    /// Reject the pod with a message naming container, image and cause.
    Deny,
}

impl FromStr for FailurePolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "allow" => Ok(FailurePolicy::Allow),
            "deny" => Ok(FailurePolicy::Deny),
            _ => Err(format!("expected allow or deny, got {s:?}")),
        }
    }
}

/// Parses `os/arch[/variant]`.
pub fn parse_platform(s: &str) -> Result<Platform, String> {
    let parts: Vec<&str> = s.split('/').collect();
    match parts.as_slice() {
        [os, arch] | [os, arch, _] if !os.is_empty() && !arch.is_empty() => Ok(Platform {
            os: os.to_string(),
            architecture: arch.to_string(),
            variant: parts.get(2).filter(|v| !v.is_empty()).map(|v| v.to_string()),
        }),
        _ => Err(format!("expected os/arch[/variant], got {s:?}")),
    }
}

/// Parses a duration: an integer with unit `ms`, `s`, `m` or `h` (bare integers are seconds).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("expected a duration like 2s or 500ms, got {s:?}"))?;
    let ms = match unit {
        "ms" => Some(n),
        "" | "s" => n.checked_mul(1_000),
        "m" => n.checked_mul(60_000),
        "h" => n.checked_mul(3_600_000),
        _ => {
            return Err(format!(
                "unknown duration unit {unit:?} in {s:?} (use ms, s, m or h)"
            ));
        }
    };
    ms.map(Duration::from_millis)
        .ok_or_else(|| format!("duration {s:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_duration("1.5s").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("3d").is_err());
    }

    #[test]
    fn platforms() {
        assert_eq!(
            parse_platform("linux/arm64/v8").unwrap().variant.as_deref(),
            Some("v8")
        );
        assert_eq!(parse_platform("linux/amd64").unwrap(), Platform::default());
        assert!(parse_platform("linux").is_err());
        assert!(parse_platform("/amd64").is_err());
    }

    #[test]
    fn cli_contract() {
        let c = Config::try_parse_from([
            "respawn-webhook",
            "--listen",
            "127.0.0.1:9443",
            "--supervisor-image",
            "reg/sup:1",
            "--lookup-budget",
            "750ms",
            "--on-lookup-failure",
            "deny",
            "--default-platform",
            "linux/arm64",
            "--exclude-namespace",
            "a",
            "--exclude-namespace",
            "b,c",
            "--write-ca",
            "/tmp/ca.pem",
            "--tls-san",
            "respawn-webhook.respawn.svc",
        ])
        .unwrap();
        assert_eq!(c.listen, "127.0.0.1:9443".parse().unwrap());
        assert_eq!(c.lookup_budget, Duration::from_millis(750));
        assert_eq!(c.injection.on_lookup_failure, FailurePolicy::Deny);
        assert_eq!(c.injection.exclude_namespaces, ["a", "b", "c"]);
        assert!(c.injection.is_excluded("kube-system") && c.injection.is_excluded("b"));
        assert!(!c.injection.is_excluded("default"));
        assert!(Config::try_parse_from(["respawn-webhook", "--tls-cert", "x"]).is_err());
        assert!(Config::try_parse_from(["respawn-webhook", "--on-lookup-failure", "maybe"]).is_err());
    }
}
