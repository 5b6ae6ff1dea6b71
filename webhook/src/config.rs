//! Command-line and environment configuration (`RESPAWN_WEBHOOK_*`), parsed with clap derive.
//!
//! [`Config`] is the whole CLI; [`InjectionArgs`] becomes the decision's
//! [`Injection`](crate::decision::Injection). Durations use the supervisor's grammar
//! (`respawn_settings`): `2s`, `500ms`, `1m30s`.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use crate::decision::{Delivery, FailurePolicy, Injection};
use crate::images::Platform;
use crate::images::registry::RegistryOptions;
use crate::server::logs::LogFormat;

/// `respawn-webhook`: a mutating admission webhook that wraps containers in the respawn supervisor.
/// Without a subcommand it serves (the flags below); `inject` injects manifests offline.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "respawn-webhook",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Config {
    /// A subcommand; none: serve the webhook.
    #[command(subcommand)]
    pub command: Option<Command>,

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
    pub injection: InjectionArgs,

    /// Log line format.
    #[arg(long, env = "RESPAWN_WEBHOOK_LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,

    /// Time allowed for all image lookups of one pod (e.g. `2s`, `500ms`); never more than
    /// three quarters of the apiserver's `?timeout=`.
    #[arg(long, env = "RESPAWN_WEBHOOK_LOOKUP_BUDGET", default_value = "2s", value_parser = parse_duration)]
    pub lookup_budget: Duration,

    /// Largest accepted AdmissionReview body, in bytes.
    #[arg(long, env = "RESPAWN_WEBHOOK_MAX_BODY_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Request bodies read and worked on at once, in bytes (at least one largest body): past it
    /// requests wait, so a burst of huge pods cannot grow the webhook's memory without bound.
    #[arg(long, env = "RESPAWN_WEBHOOK_MAX_INFLIGHT_BYTES", default_value_t = 16 * 1024 * 1024)]
    pub max_inflight_bytes: usize,

    /// Time in-flight requests get to finish after SIGTERM/SIGINT.
    #[arg(long, env = "RESPAWN_WEBHOOK_SHUTDOWN_GRACE", default_value = "20s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,

    /// Registry access (W2's options).
    #[command(flatten)]
    pub registry: RegistryOptions,
}

/// Subcommands besides serving (the default).
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Inject the supervisor into manifests offline (GitOps): read YAML/JSON, write YAML with
    /// pods and pod templates mutated exactly as the webhook would admit them.
    Inject(crate::offline::InjectArgs),
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

/// The injection flags (the decision's [`Injection`]).
#[derive(Debug, Clone, clap::Args)]
pub struct InjectionArgs {
    /// Image of the supervisor (FROM scratch, the static binary at `/respawn`).
    #[arg(
        long,
        env = "RESPAWN_WEBHOOK_SUPERVISOR_IMAGE",
        default_value = "respawn-supervisor:latest"
    )]
    pub supervisor_image: String,

    /// imagePullPolicy of the supervisor image (init container or image volume).
    #[arg(long, env = "RESPAWN_WEBHOOK_SUPERVISOR_PULL_POLICY", default_value = "IfNotPresent",
          value_parser = ["Always", "IfNotPresent", "Never"])]
    pub supervisor_pull_policy: String,

    /// Platforms the supervisor image has (`os/arch`, comma-separated). For a pod that does not
    /// pin its architecture, the image's argv is looked up for each; where they differ the
    /// supervisor picks its own at start (`--argv-for`).
    #[arg(long, env = "RESPAWN_WEBHOOK_SUPERVISOR_PLATFORMS", value_delimiter = ',',
          default_value = "linux/amd64,linux/arm64", value_parser = parse_platform)]
    pub supervisor_platforms: Vec<Platform>,

    /// How the supervisor reaches pods: an init container copying it into an emptyDir, or an
    /// OCI image volume (Kubernetes ≥ 1.35 and a runtime with image volumes). Per pod:
    /// annotation `respawn.dev/delivery`.
    #[arg(long, env = "RESPAWN_WEBHOOK_DELIVERY", default_value = "init-container")]
    pub delivery: Delivery,

    /// What to do with a pod whose image config cannot be looked up (per-pod annotation
    /// `respawn.dev/on-lookup-failure` overrides).
    #[arg(long, env = "RESPAWN_WEBHOOK_ON_LOOKUP_FAILURE", default_value = "allow")]
    pub on_lookup_failure: FailurePolicy,

    /// Platform (`os/arch[/variant]`) for pods without a `kubernetes.io/arch`/`os` node selection.
    #[arg(long, env = "RESPAWN_WEBHOOK_DEFAULT_PLATFORM", default_value = "linux/amd64",
          value_parser = parse_platform)]
    pub default_platform: Platform,

    /// Most distinct images looked up for one pod; a pod needing more is handled by the
    /// lookup-failure policy, with a warning naming the images not looked up.
    #[arg(long, env = "RESPAWN_WEBHOOK_MAX_IMAGE_LOOKUPS", default_value_t = 20,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub max_image_lookups: u16,

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
          value_parser = crate::decision::annotations::parse_default)]
    pub default_settings: Vec<(String, String)>,

    /// The webhook's own namespace (always excluded); set from the downward API.
    #[arg(long, env = "POD_NAMESPACE", hide = true)]
    pub own_namespace: Option<String>,
}

impl InjectionArgs {
    /// The decision's settings; `image_volumes`: whether the cluster supports image volumes.
    pub fn injection(&self, image_volumes: bool) -> Injection {
        Injection {
            supervisor_image: self.supervisor_image.clone(),
            supervisor_pull_policy: self.supervisor_pull_policy.clone(),
            on_lookup_failure: self.on_lookup_failure,
            delivery: self.delivery,
            image_volumes,
            default_platform: self.default_platform.clone(),
            supervisor_platforms: self.supervisor_platforms.clone(),
            exclude_namespaces: self.exclude_namespaces.clone(),
            own_namespace: self.own_namespace.clone(),
            default_settings: self.default_settings.clone(),
            max_image_lookups: usize::from(self.max_image_lookups),
        }
    }
}

/// Parses `os/arch[/variant]` with the supervisor's grammar (`respawn_settings::platform`:
/// lowercase OCI names, `arm64/v8` = `arm64`; `aarch64` is refused with the name to use), so a
/// platform the webhook hands the supervisor in `--argv-for` is one it accepts.
pub fn parse_platform(s: &str) -> Result<Platform, String> {
    respawn_settings::platform(s)
        .map(Platform::from)
        .map_err(|e| e.to_string())
}

/// Parses a duration with the supervisor's grammar (`2s`, `500ms`, `1m30s`; at most 168h).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    respawn_settings::duration(s).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn durations_use_the_shared_grammar() {
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("3d").is_err() && parse_duration("1e30").is_err());
    }

    #[test]
    fn inject_is_a_subcommand_with_the_webhooks_injection_flags() {
        let c = Config::try_parse_from([
            "respawn-webhook",
            "inject",
            "-f",
            "k8s/",
            "-f",
            "-",
            "--all",
            "--enabled-namespace",
            "a,b",
            "--supervisor-image",
            "reg/sup:1",
            "--on-lookup-failure",
            "deny",
            "--insecure-registry",
            "r:5000",
        ])
        .unwrap();
        let Some(Command::Inject(args)) = c.command else {
            panic!("not inject: {:?}", c.command)
        };
        assert_eq!(args.files, ["k8s/", "-"]);
        assert!(args.all && args.enabled_namespaces == ["a", "b"]);
        assert_eq!(args.injection.supervisor_image, "reg/sup:1");
        assert_eq!(args.injection.on_lookup_failure, FailurePolicy::Deny);
        assert_eq!(args.registry.insecure_registries, ["r:5000"]);
        assert_eq!(args.lookup_budget, Duration::from_secs(30));
        // Serving flags belong to no subcommand.
        assert!(Config::try_parse_from(["respawn-webhook", "--listen", "127.0.0.1:1", "inject"]).is_err());
        assert!(Config::try_parse_from(["respawn-webhook", "inject", "--listen", "127.0.0.1:1"]).is_err());
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
        let inj = c.injection.injection(true);
        assert!(inj.is_excluded("kube-system") && inj.is_excluded("b"));
        assert!(!inj.is_excluded("default"));
        assert_eq!(inj.supervisor_platforms.len(), 2);
        assert_eq!(inj.delivery, Delivery::InitContainer);
        assert!(c.command.is_none(), "no subcommand: serve");
        assert!(Config::try_parse_from(["respawn-webhook", "--tls-cert", "x"]).is_err());
        assert!(Config::try_parse_from(["respawn-webhook", "--on-lookup-failure", "maybe"]).is_err());
    }
}
