//! Images: what the decision needs to know about an image (its ENTRYPOINT and CMD for one
//! platform), the provider trait that answers it, and the pod's lookups run in parallel under one
//! deadline ([`lookup`]). The registry-backed provider (credentials, cache, fetch) is in
//! [`registry`]; [`StaticProvider`] answers from a map for tests.

pub mod lookup;
pub mod registry;
mod static_provider;

pub use lookup::{Resolved, budget, resolve_all};
pub use static_provider::StaticProvider;

use std::{fmt, sync::Arc, time::Instant};

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

impl fmt::Display for Platform {
    /// `os/arch[/variant]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        match &self.variant {
            Some(v) => write!(f, "/{v}"),
            None => Ok(()),
        }
    }
}

impl From<respawn_settings::Platform> for Platform {
    fn from(p: respawn_settings::Platform) -> Platform {
        Platform {
            os: p.os,
            architecture: p.architecture,
            variant: p.variant,
        }
    }
}

impl From<&Platform> for respawn_settings::Platform {
    fn from(p: &Platform) -> respawn_settings::Platform {
        respawn_settings::Platform {
            os: p.os.clone(),
            architecture: p.architecture.clone(),
            variant: p.variant.clone(),
        }
    }
}

impl std::str::FromStr for Platform {
    type Err = String;
    /// Parses `os/arch[/variant]`.
    fn from_str(s: &str) -> Result<Platform, String> {
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
}

impl Platform {
    /// True when both name the same platform: same os and architecture, and the same variant
    /// when both name one (`arm64` and `arm64/v8` are the same: v8 is arm64's only variant).
    pub fn same_as(&self, other: &Platform) -> bool {
        let norm = |p: &Platform| match (p.architecture.as_str(), p.variant.as_deref()) {
            ("arm64", Some("v8")) | (_, None) => None,
            (_, Some(v)) => Some(v.to_string()),
        };
        self.os == other.os
            && self.architecture == other.architecture
            && (self.variant.is_none() || other.variant.is_none() || norm(self) == norm(other))
    }
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

/// One lookup: an image as written in the pod, the platform wanted, and what decides which
/// credentials may be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupRequest {
    /// The image reference exactly as written in the container spec.
    pub image: String,
    /// The pod's namespace: credentials are only ever read from, and cached for, this namespace.
    pub namespace: String,
    /// Names of the pod's `imagePullSecrets`.
    pub pull_secrets: Vec<String>,
    /// The pod's service account (`default` when unset), whose `imagePullSecrets` also apply.
    pub service_account: String,
    /// Platform to resolve an index to.
    pub platform: Platform,
    /// The lookup must answer by this instant.
    pub deadline: Instant,
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
    async fn image_config(&self, req: &LookupRequest) -> Lookup;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_parse_print_and_compare() {
        let p = |s: &str| s.parse::<Platform>().unwrap();
        assert_eq!(p("linux/arm64/v8").variant.as_deref(), Some("v8"));
        assert_eq!(p("linux/amd64"), Platform::default());
        assert_eq!(p("linux/arm/v7").to_string(), "linux/arm/v7");
        assert!("linux".parse::<Platform>().is_err() && "/amd64".parse::<Platform>().is_err());
        assert!(p("linux/arm64").same_as(&p("linux/arm64/v8")));
        assert!(p("linux/arm/v7").same_as(&p("linux/arm")));
        assert!(!p("linux/arm/v7").same_as(&p("linux/arm/v6")));
        assert!(!p("linux/amd64").same_as(&p("linux/arm64")));
    }
}
