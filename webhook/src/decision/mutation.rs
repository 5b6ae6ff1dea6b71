//! The decision as data: skip, deny, or inject — and for an injection, exactly what changes
//! (a [`Mutation`]). `crate::render` turns a mutation into a JSON patch; tests assert on these
//! values, not on encoded bytes.

use super::qos::InstallResources;

/// Why a pod is admitted unchanged (also the `reason` label of the skipped metric).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SkipReason {
    /// kube-system, kube-public, kube-node-lease, the webhook's own or an excluded namespace.
    ExcludedNamespace,
    /// Pod label `respawn.dev/inject=disabled`.
    Disabled,
    /// Status annotation, injected label or init container already present.
    AlreadyInjected,
    /// The pod targets Windows nodes.
    Windows,
    /// No container is left to wrap.
    NoContainers,
    /// A lookup failed and the policy is `allow`.
    LookupFailed,
}

impl SkipReason {
    /// Stable snake_case name for metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::ExcludedNamespace => "excluded_namespace",
            SkipReason::Disabled => "disabled",
            SkipReason::AlreadyInjected => "already_injected",
            SkipReason::Windows => "windows",
            SkipReason::NoContainers => "no_containers",
            SkipReason::LookupFailed => "lookup_failed",
        }
    }
}

/// The final decision about one pod.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Admit unchanged.
    Skip {
        /// Why.
        reason: SkipReason,
        /// Warnings for the user.
        warnings: Vec<String>,
    },
    /// Reject with a message naming container, image and cause.
    Deny {
        /// The message.
        message: String,
        /// Warnings for the user.
        warnings: Vec<String>,
    },
    /// Inject the supervisor.
    Inject(Box<Mutation>),
}

/// Everything an injection changes in a pod.
#[derive(Debug, Clone, PartialEq)]
pub struct Mutation {
    /// The volume holding the supervisor (added to `spec.volumes`).
    pub volume: SupervisorVolume,
    /// The init container that copies the supervisor (first in `spec.initContainers`), for
    /// init-container delivery.
    pub install: Option<Install>,
    /// The wrapped containers.
    pub containers: Vec<Wrap>,
    /// Labels to set (the injected label).
    pub labels: Vec<(String, String)>,
    /// Annotations to set (status, original argv).
    pub annotations: Vec<(String, String)>,
    /// Warnings for the user.
    pub warnings: Vec<String>,
}

/// The volume that holds `/respawn/respawn`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupervisorVolume {
    /// A name no other volume of the pod uses.
    pub name: String,
    /// Where its files come from.
    pub source: VolumeSource,
}

/// Where the supervisor volume's files come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeSource {
    /// An `emptyDir` the init container fills.
    EmptyDir {
        /// `sizeLimit`.
        size_limit: &'static str,
    },
    /// An OCI image volume: the supervisor image itself, read-only.
    Image {
        /// The supervisor image.
        reference: String,
        /// Its pull policy.
        pull_policy: String,
    },
}

/// The `respawn-install` init container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Install {
    /// A name no other container of the pod uses.
    pub name: String,
    /// The supervisor image.
    pub image: String,
    /// Its pull policy.
    pub pull_policy: String,
    /// Requests and limits that keep the pod's QoS class (`None`: none at all).
    pub resources: Option<InstallResources>,
}

/// One wrapped container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wrap {
    /// Index in `spec.containers`.
    pub index: usize,
    /// Its name.
    pub name: String,
    /// The new `args`: supervisor options (e.g. `--argv-for`), `--`, then the original argv in
    /// the form the kubelet will expand. `command` becomes the supervisor.
    pub args: Vec<String>,
    /// `RESPAWN_*` variables to append to its `env`.
    pub env: Vec<(String, String)>,
    /// Also append `RESPAWN_POD_IP` from the downward API (`status.podIP`): where a rewritten
    /// network probe connects.
    pub pod_ip: bool,
    /// Liveness/startup probes that become `respawn probe` (`super::probes`).
    pub probes: Vec<ProbeRewrite>,
}

/// A probe of a wrapped container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeField {
    /// `livenessProbe`.
    Liveness,
    /// `startupProbe`.
    Startup,
}

impl ProbeField {
    /// The field's name in a container.
    pub fn json_name(self) -> &'static str {
        match self {
            ProbeField::Liveness => "livenessProbe",
            ProbeField::Startup => "startupProbe",
        }
    }
}

/// One probe rewritten to run its check through the supervisor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeRewrite {
    /// Which probe.
    pub field: ProbeField,
    /// Its new `exec.command`: `/respawn/respawn probe …` with the original check. Its handler
    /// (`httpGet`, `tcpSocket`, `exec`) is replaced; every other field stays as it was.
    pub command: Vec<String>,
}
