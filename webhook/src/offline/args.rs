//! The flags of `respawn-webhook inject`: the webhook's own injection and registry flags (the
//! same structs, so the two paths cannot drift apart), plus what only an offline run needs —
//! inputs, the opt-in a cluster would know (namespace labels), and local registry logins.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::{InjectionArgs, parse_duration};
use crate::images::registry::RegistryOptions;

/// `respawn-webhook inject`: inject the supervisor into manifests offline (GitOps), exactly as
/// the webhook would admit them.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "\
Opt-in is the webhook's: a pod template labelled respawn.dev/inject=enabled, or one in an
enabled namespace (--enabled-namespace, or a Namespace document in the input labelled
respawn.dev/inject=enabled), or every pod template with --all; respawn.dev/inject=disabled
always wins. A document's namespace is its metadata.namespace, else --namespace.

Examples:
  respawn-webhook inject -f k8s/ --all --supervisor-image REG/respawn-supervisor:v1 | kubectl apply -f -
  kustomize build overlays/dev | respawn-webhook inject --enabled-namespace dev > rendered.yaml

Exit status: 0 when every document was written; 1 when nothing was written (unreadable
input, a pod denied by --on-lookup-failure deny, ...), with every error on stderr.")]
pub struct InjectArgs {
    /// Input: a YAML or JSON file (several documents, `List` kinds), a directory (its .yaml,
    /// .yml and .json files, in name order), or `-` for stdin. Repeatable; default stdin.
    #[arg(short = 'f', long = "filename", value_name = "FILE|DIR|-")]
    pub files: Vec<String>,

    /// Also read the directories inside directories given with `-f`.
    #[arg(short = 'R', long)]
    pub recursive: bool,

    /// Inject every pod template that does not opt out, whatever its labels and namespace (as if
    /// every namespace were labelled `respawn.dev/inject=enabled`).
    #[arg(long)]
    pub all: bool,

    /// Treat this namespace as labelled `respawn.dev/inject=enabled` (the cluster's label is not
    /// visible offline). Repeatable or comma-separated.
    #[arg(long = "enabled-namespace", value_name = "NAMESPACE", value_delimiter = ',')]
    pub enabled_namespaces: Vec<String>,

    /// Namespace of documents whose metadata names none (as `kubectl apply -n`).
    #[arg(short = 'n', long, default_value = "default")]
    pub namespace: String,

    /// Registry login file (`{"auths": {...}}`, as `docker login` or `podman login` write it),
    /// used instead of the default ones: `$REGISTRY_AUTH_FILE` or
    /// `$XDG_RUNTIME_DIR/containers/auth.json`, `~/.config/containers/auth.json`,
    /// `~/.docker/config.json` (`$DOCKER_CONFIG`).
    #[arg(long, value_name = "FILE")]
    pub registry_config: Option<PathBuf>,

    /// Time allowed for all image lookups of one pod template.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub lookup_budget: Duration,

    /// Print only warnings and errors on stderr, not one line per pod template.
    #[arg(short, long)]
    pub quiet: bool,

    /// What gets injected: the webhook's flags.
    #[command(flatten)]
    pub injection: InjectionArgs,

    /// Registry access: the webhook's flags (`--global-pull-secret` needs the cluster's API
    /// and is refused here).
    #[command(flatten)]
    pub registry: RegistryOptions,
}
