//! The admission decision, a pure function of (pod, resolved image configs, configuration):
//! [`plan`] decides whether and what to wrap and which images must be looked up; [`apply`]
//! turns the plan plus the lookup results into a JSON patch, warnings, or a denial.

use std::{borrow::Cow, collections::BTreeMap};

use crate::podview::{Container, Pod, Str};

use crate::argv;
use crate::config::{FailurePolicy, Injection};
use crate::image::{Lookup, Platform};
use crate::inject;
use crate::settings::{self, PodSettings};

/// Why a pod is admitted unchanged (also the `reason` label of the skipped metric).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SkipReason {
    /// kube-system, kube-public, kube-node-lease, the webhook's own or an excluded namespace.
    ExcludedNamespace,
    /// Pod label `respawn.dev/inject=disabled`.
    Disabled,
    /// Status annotation or init container already present.
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

/// What to do with a pod before any lookup.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan<'a> {
    /// Admit unchanged.
    Skip {
        /// Why.
        reason: SkipReason,
        /// Warnings for the user.
        warnings: Vec<String>,
    },
    /// Wrap some containers.
    Wrap(Box<WrapPlan<'a>>),
}

/// The containers to wrap and the images whose config is needed.
#[derive(Debug, Clone, PartialEq)]
pub struct WrapPlan<'a> {
    /// Indices into `spec.containers`.
    pub containers: Vec<usize>,
    /// Unique images (as written) of wrapped containers without `command`.
    pub lookups: Vec<&'a str>,
    /// Platform to resolve image indexes to.
    pub platform: Cow<'a, Platform>,
    /// The pod's annotations, parsed.
    pub settings: PodSettings,
    /// Effective lookup-failure policy.
    pub policy: FailurePolicy,
    /// Warnings so far.
    pub warnings: Vec<String>,
}

/// The final decision.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome<'a> {
    /// Admit with this patch.
    Patch {
        /// The JSON patch (an array of `add` operations).
        patch: crate::patch::Patch,
        /// Names of the wrapped containers.
        wrapped: Vec<&'a str>,
        /// Warnings for the user.
        warnings: Vec<String>,
    },
    /// Admit unchanged.
    Unchanged {
        /// Why.
        reason: SkipReason,
        /// Warnings for the user.
        warnings: Vec<String>,
    },
    /// Reject with a message.
    Deny {
        /// Names container, image and cause.
        message: String,
        /// Warnings for the user.
        warnings: Vec<String>,
    },
}

/// Where the status annotation goes (`settings::STATUS` escaped; a test checks).
pub const STATUS_PATH: &str = "/metadata/annotations/respawn.dev~1status";
/// Where the original-argv annotation goes (`settings::ORIGINAL_ARGV` escaped; a test checks).
pub const ORIGINAL_ARGV_PATH: &str = "/metadata/annotations/respawn.dev~1original-argv";

/// Lookup results by image reference (a pod has one to a few images: a B-tree beats hashing).
pub type Resolved = BTreeMap<String, Lookup>;

/// Decides whether the pod is wrapped, which containers, and what must be looked up.
pub fn plan<'a>(pod: &'a Pod, namespace: &str, cfg: &'a Injection) -> Plan<'a> {
    let skip = |reason, warnings| Plan::Skip { reason, warnings };
    if cfg.is_excluded(namespace) {
        return skip(SkipReason::ExcludedNamespace, vec![]);
    }
    let meta = &pod.metadata;
    match meta
        .labels
        .as_ref()
        .and_then(|l| l.get(settings::INJECT_LABEL))
        .map(|v| &**v)
    {
        Some("disabled") => return skip(SkipReason::Disabled, vec![]),
        None | Some("enabled") => {}
        Some(other) => {
            let w = format!(
                "respawn: label {}={other:?} is neither enabled nor disabled; not injected",
                settings::INJECT_LABEL
            );
            return skip(SkipReason::Disabled, vec![w]);
        }
    }
    if is_injected(pod) {
        return skip(SkipReason::AlreadyInjected, vec![]);
    }
    let Some(spec) = pod.spec.as_ref() else {
        return skip(
            SkipReason::NoContainers,
            vec!["respawn: pod has no spec; not injected".into()],
        );
    };
    let node_os = spec
        .node_selector
        .as_ref()
        .and_then(|s| s.get("kubernetes.io/os"))
        .map(|v| &**v);
    let spec_os = spec.os.as_ref().map(|o| &*o.name);
    if node_os == Some("windows") || spec_os == Some("windows") {
        return skip(
            SkipReason::Windows,
            vec!["respawn: Windows pods are not supported; not injected".into()],
        );
    }
    let pod_settings = settings::parse(meta.annotations.as_ref(), &cfg.default_settings);
    let mut warnings = pod_settings.warnings.clone();
    let containers = choose_containers(pod, &pod_settings, &mut warnings);
    if containers.is_empty() {
        warnings.push("respawn: no container to wrap; not injected".into());
        return skip(SkipReason::NoContainers, warnings);
    }
    let mut lookups: Vec<&str> = Vec::new();
    for &i in &containers {
        let c = &spec.containers[i];
        let image = c.image.as_deref().unwrap_or_default();
        if argv::needs_image(c.command.as_ref()) && !lookups.contains(&image) {
            lookups.push(image);
        }
    }
    Plan::Wrap(Box::new(WrapPlan {
        containers,
        lookups,
        platform: platform(spec.node_selector.as_ref(), &cfg.default_platform),
        policy: pod_settings.on_lookup_failure.unwrap_or(cfg.on_lookup_failure),
        settings: pod_settings,
        warnings,
    }))
}

/// True when the pod carries the status annotation or the init container.
pub fn is_injected(pod: &Pod) -> bool {
    let annotated = pod
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(settings::STATUS))
        .is_some_and(|s| s == "injected");
    let init = pod
        .spec
        .as_ref()
        .and_then(|s| s.init_containers.as_ref())
        .is_some_and(|ics| ics.iter().any(|c| c.name == inject::INIT_NAME));
    annotated || init
}

/// Regular containers chosen by the annotation (default all), minus those that cannot be wrapped.
fn choose_containers(pod: &Pod, s: &PodSettings, warnings: &mut Vec<String>) -> Vec<usize> {
    let spec = pod.spec.as_ref().expect("checked by caller");
    if let Some(names) = &s.containers {
        for n in names
            .iter()
            .filter(|n| !spec.containers.iter().any(|c| &c.name == *n))
        {
            let kind = if spec.init_containers.iter().flatten().any(|c| &c.name == n) {
                "is an init container (never wrapped)"
            } else {
                "does not exist"
            };
            warnings.push(format!(
                "respawn: container {n:?} named in {} {kind}",
                settings::CONTAINERS
            ));
        }
    }
    let wanted = |c: &Container| {
        s.containers
            .as_ref()
            .is_none_or(|n| n.iter().any(|n| *n == c.name))
    };
    let mut out = Vec::new();
    for (i, c) in spec.containers.iter().enumerate().filter(|(_, c)| wanted(c)) {
        if let Some(why) = unwrappable(c) {
            warnings.push(format!("respawn: container {:?} not wrapped: {why}", c.name));
        } else {
            out.push(i);
        }
    }
    out
}

fn unwrappable(c: &Container) -> Option<&'static str> {
    if c.command
        .as_ref()
        .and_then(|cmd| cmd.first())
        .is_some_and(|p| p == inject::SUPERVISOR_PATH)
    {
        return Some("it already runs the supervisor");
    }
    if c.volume_mounts
        .iter()
        .flatten()
        .any(|m| m.mount_path.trim_end_matches('/') == inject::MOUNT_PATH)
    {
        return Some("it already mounts something at /respawn");
    }
    if c.image.as_deref().is_none_or(str::is_empty) {
        return Some("it has no image");
    }
    None
}

/// Platform from the nodeSelector, filled in from the default (borrowed when the selector names
/// neither os nor arch).
pub fn platform<'a>(
    node_selector: Option<&BTreeMap<Str<'_>, Str<'_>>>,
    default: &'a Platform,
) -> Cow<'a, Platform> {
    let get = |k: &str| {
        node_selector
            .and_then(|s| s.get(k))
            .map(|v| &**v)
            .filter(|v| !v.is_empty())
    };
    match (get("kubernetes.io/os"), get("kubernetes.io/arch")) {
        (None, None) => Cow::Borrowed(default),
        (os, arch) => Cow::Owned(Platform {
            os: os.map_or_else(|| default.os.clone(), str::to_owned),
            architecture: arch.map_or_else(|| default.architecture.clone(), str::to_owned),
            variant: if arch.is_none() {
                default.variant.clone()
            } else {
                None
            },
        }),
    }
}

/// Turns a plan and the lookup results into the final decision.
pub fn apply<'a>(pod: &'a Pod, plan: &WrapPlan<'_>, resolved: &Resolved, cfg: &Injection) -> Outcome<'a> {
    let spec = pod.spec.as_ref().expect("planned pods have a spec");
    let mut warnings = plan.warnings.clone();
    let mut argvs = Vec::with_capacity(plan.containers.len());
    for &i in &plan.containers {
        let c = &spec.containers[i];
        let image_ref = c.image.as_deref().unwrap_or_default();
        let image = if argv::needs_image(c.command.as_ref()) {
            match resolved.get(image_ref) {
                Some(Ok(cfg)) => Some(&**cfg),
                Some(Err(e)) => {
                    return lookup_failed(plan.policy, &c.name, image_ref, &e.to_string(), warnings);
                }
                None => {
                    return lookup_failed(
                        plan.policy,
                        &c.name,
                        image_ref,
                        "image config was not looked up",
                        warnings,
                    );
                }
            }
        } else {
            None
        };
        match argv::resolve(c.command.as_ref(), c.args.as_ref(), image) {
            Ok((argv, source)) => argvs.push((i, argv, source, image)),
            Err(e) => return lookup_failed(plan.policy, &c.name, image_ref, &e.to_string(), warnings),
        }
    }
    let names = inject::Names::pick(pod);
    let mut b = inject::start_patch(cfg, &names, spec.init_containers.is_some());
    b.append("/spec/volumes", spec.volumes.is_some(), |out| {
        inject::volume(out, &names.volume)
    });
    let mut original = Vec::with_capacity(argvs.len());
    let mut wrapped = Vec::with_capacity(argvs.len());
    for (i, argv, source, image) in argvs {
        let c = &spec.containers[i];
        inject::wrap_container(
            &mut b,
            i,
            c,
            &argv,
            &names.volume,
            &plan.settings.env,
            &mut warnings,
        );
        original.push(inject::Original {
            container: c,
            source,
            image,
        });
        wrapped.push(&*c.name);
    }
    b.ensure("/metadata/annotations", pod.metadata.annotations.is_some(), "{}");
    b.add_json(STATUS_PATH, r#""injected""#);
    b.add(ORIGINAL_ARGV_PATH, |out| {
        inject::original_argv(out, &mut original)
    });
    Outcome::Patch {
        patch: b.finish(),
        wrapped,
        warnings,
    }
}

fn lookup_failed(
    policy: FailurePolicy,
    container: &str,
    image: &str,
    cause: &str,
    mut warnings: Vec<String>,
) -> Outcome<'static> {
    let message = format!("respawn: cannot wrap container {container:?} (image {image:?}): {cause}");
    match policy {
        FailurePolicy::Deny => Outcome::Deny { message, warnings },
        FailurePolicy::Allow => {
            warnings.push(format!("{message}; pod admitted without the supervisor"));
            Outcome::Unchanged {
                reason: SkipReason::LookupFailed,
                warnings,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotation_paths_are_the_escaped_keys() {
        let at = |key| crate::patch::pointer(&["metadata", "annotations", key]);
        assert_eq!(STATUS_PATH, at(settings::STATUS));
        assert_eq!(ORIGINAL_ARGV_PATH, at(settings::ORIGINAL_ARGV));
    }
}
