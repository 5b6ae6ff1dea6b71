//! The two per-pod choices with a cluster-wide default: what to do when an image config cannot
//! be had ([`FailurePolicy`]) and how the supervisor reaches the pod ([`Delivery`]).

use std::str::FromStr;

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

/// How the supervisor reaches the pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Delivery {
    /// An init container copies it into an `emptyDir` (works everywhere).
    InitContainer,
    /// The supervisor image is mounted as an OCI image volume (Kubernetes ≥ 1.35 and a runtime
    /// that supports image volumes; no init container, no copy).
    ImageVolume,
}

impl FromStr for Delivery {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "init-container" => Ok(Delivery::InitContainer),
            "image-volume" => Ok(Delivery::ImageVolume),
            _ => Err(format!("expected init-container or image-volume, got {s:?}")),
        }
    }
}
