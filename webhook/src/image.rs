//! The seam between the admission decision and image metadata: what the webhook needs to know
//! about an image, and the provider trait that answers it (a registry-backed provider in
//! `registry`, fakes in tests).

use std::{borrow::Cow, sync::Arc, time::Instant};

/// The part of an image's config the webhook needs (OCI image config `config` object).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImageConfig {
    /// `Entrypoint`, if the image sets one.
    pub entrypoint: Option<Vec<String>>,
    /// `Cmd`, if the image sets one.
    pub cmd: Option<Vec<String>>,
    /// `WorkingDir`, recorded in the original-argv annotation.
    pub working_dir: Option<String>,
    /// `User`, recorded in the original-argv annotation.
    pub user: Option<String>,
    /// Digest of the platform-specific manifest the config came from, when known.
    pub digest: Option<String>,
}

/// A target platform (`os/arch[/variant]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Platform {
    /// e.g. `linux`.
    pub os: String,
    /// e.g. `amd64`, `arm64`.
    pub architecture: String,
    /// e.g. `v8`; `None` matches any variant.
    pub variant: Option<String>,
}

impl Default for Platform {
    fn default() -> Self {
        Platform {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
        }
    }
}

/// One lookup: an image as written in the pod, plus what decides which credentials may be used.
/// The admission path borrows every part from the review (nothing is copied per image); tests
/// and other callers may own them.
#[derive(Debug, Clone)]
pub struct LookupRequest<'a> {
    /// The image reference exactly as written in the container spec.
    pub image: Cow<'a, str>,
    /// The pod's namespace: credentials are only ever read from, and cached for, this namespace.
    pub namespace: Cow<'a, str>,
    /// Names of the pod's `imagePullSecrets`.
    pub pull_secrets: Cow<'a, [String]>,
    /// The pod's service account (`default` when unset), whose `imagePullSecrets` also apply.
    pub service_account: Cow<'a, str>,
    /// Platform to resolve an index to.
    pub platform: Cow<'a, Platform>,
    /// The lookup must answer by this instant.
    pub deadline: Instant,
}

impl LookupRequest<'_> {
    /// The same request owning all its parts.
    pub fn into_owned(self) -> LookupRequest<'static> {
        LookupRequest {
            image: Cow::Owned(self.image.into_owned()),
            namespace: Cow::Owned(self.namespace.into_owned()),
            pull_secrets: Cow::Owned(self.pull_secrets.into_owned()),
            service_account: Cow::Owned(self.service_account.into_owned()),
            platform: Cow::Owned(self.platform.into_owned()),
            deadline: self.deadline,
        }
    }
}

/// Why a lookup failed; the message is shown to users in warnings and denials.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum LookupError {
    /// The reference cannot be parsed.
    #[error("invalid image reference {image:?}: {reason}")]
    InvalidReference {
        /// The reference as written.
        image: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The registry says the repository, tag or digest does not exist.
    #[error("image {image} not found in its registry: {reason}")]
    NotFound {
        /// The reference as written.
        image: String,
        /// The registry's answer.
        reason: String,
    },
    /// Credentials were missing or rejected.
    #[error("registry refused access to {image}: {reason}")]
    Unauthorized {
        /// The reference as written.
        image: String,
        /// The registry's answer.
        reason: String,
    },
    /// The index has no manifest for the wanted platform.
    #[error("image {image} has no manifest for {wanted}; it has: {available}")]
    PlatformMissing {
        /// The reference as written.
        image: String,
        /// The platform wanted, `os/arch[/variant]`.
        wanted: String,
        /// The platforms the index lists, comma-separated.
        available: String,
    },
    /// The budget ran out before the registry answered.
    #[error("lookup of {image} did not finish within {budget_ms} ms")]
    Timeout {
        /// The reference as written.
        image: String,
        /// The budget that ran out.
        budget_ms: u64,
    },
    /// Anything else: connection refused, TLS, malformed manifests.
    #[error("lookup of {image} failed: {reason}")]
    Registry {
        /// The reference as written.
        image: String,
        /// What went wrong.
        reason: String,
    },
}

impl LookupError {
    /// The `outcome` label of the lookup metrics for this error.
    pub fn outcome(&self) -> &'static str {
        match self {
            LookupError::InvalidReference { .. } => "invalid_reference",
            LookupError::NotFound { .. } => "not_found",
            LookupError::Unauthorized { .. } => "unauthorized",
            LookupError::PlatformMissing { .. } => "platform_missing",
            LookupError::Timeout { .. } => "timeout",
            LookupError::Registry { .. } => "error",
        }
    }
}

/// What a lookup answers. The config is shared: a warm cache hands out the one it holds.
pub type Lookup = Result<Arc<ImageConfig>, LookupError>;

/// The `outcome` label of a lookup result: `ok` or the error's [`LookupError::outcome`].
pub fn outcome_label<T>(result: &Result<T, LookupError>) -> &'static str {
    result.as_ref().err().map_or("ok", LookupError::outcome)
}

/// Answers "what are this image's ENTRYPOINT and CMD?".
#[async_trait::async_trait]
pub trait ImageConfigProvider: Send + Sync {
    /// Looks up the config of `req.image` for `req.platform`, answering by `req.deadline`.
    async fn image_config(&self, req: &LookupRequest<'_>) -> Lookup;
}
