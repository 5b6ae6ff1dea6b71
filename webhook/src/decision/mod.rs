//! The admission decision, a pure function of (pod, namespace, configuration, image configs):
//! [`plan`] decides, before any lookup, whether and what to wrap and which (image, platform)
//! configs are needed; [`decide`] turns the plan and the lookup results into a [`Decision`] —
//! skip, deny, or a typed [`Mutation`]. Nothing here does I/O or knows the wire format.

pub mod annotations;
pub mod argv;
mod mutation;
mod original;
mod policy;
pub mod probes;
pub mod qos;
mod select;

pub use mutation::{
    Decision, Install, Mutation, ProbeField, ProbeRewrite, SkipReason, SupervisorVolume, VolumeSource, Wrap,
};
pub use policy::{Delivery, FailurePolicy};
pub use select::platform_of;

use k8s_openapi::api::core::v1::Pod;

use crate::images::{Platform, Resolved, lookup};
use annotations::PodSettings;

/// Where wrapped containers see the volume; the supervisor is `/respawn/respawn`.
pub const MOUNT_PATH: &str = "/respawn";
/// The wrapped container's new `command`.
pub const SUPERVISOR_PATH: &str = "/respawn/respawn";
/// Path of the static binary inside the supervisor image (FROM scratch).
pub const IMAGE_BINARY: &str = "/respawn";
/// Where the init container mounts the volume (`/respawn` is taken by the binary itself).
pub const INSTALL_MOUNT_PATH: &str = "/respawn-vol";
/// Preferred volume name.
pub const VOLUME_NAME: &str = "respawn";
/// Preferred init container name.
pub const INIT_NAME: &str = "respawn-install";
/// `sizeLimit` of the emptyDir (the binary is < 1 MiB).
pub const VOLUME_SIZE_LIMIT: &str = "16Mi";

/// Everything the decision needs to know besides the pod and the image configs.
#[derive(Debug, Clone)]
pub struct Injection {
    /// Image of the supervisor (FROM scratch, the static binary at `/respawn`).
    pub supervisor_image: String,
    /// Pull policy of the supervisor image.
    pub supervisor_pull_policy: String,
    /// Lookup-failure policy unless the pod overrides it.
    pub on_lookup_failure: FailurePolicy,
    /// Delivery unless the pod overrides it.
    pub delivery: Delivery,
    /// False when the cluster is known not to support image volumes: a pod asking for them gets
    /// init-container delivery and a warning.
    pub image_volumes: bool,
    /// Platform for pods that do not pin `kubernetes.io/os`/`arch`.
    pub default_platform: Platform,
    /// Platforms the supervisor image has: for a pod that does not pin its architecture, the
    /// argv of each is looked up, and where it differs the supervisor gets `--argv-for`.
    pub supervisor_platforms: Vec<Platform>,
    /// Namespaces never touched besides the system ones and `own_namespace`.
    pub exclude_namespaces: Vec<String>,
    /// The webhook's own namespace.
    pub own_namespace: Option<String>,
    /// Cluster-wide defaults of supervisor settings (`RESPAWN_*`, value).
    pub default_settings: Vec<(String, String)>,
    /// Most distinct images looked up for one pod.
    pub max_image_lookups: usize,
}

impl Injection {
    /// True when pods in `namespace` must never be touched.
    pub fn is_excluded(&self, namespace: &str) -> bool {
        const SYSTEM: [&str; 3] = ["kube-system", "kube-public", "kube-node-lease"];
        SYSTEM.contains(&namespace)
            || self.own_namespace.as_deref() == Some(namespace)
            || self.exclude_namespaces.iter().any(|n| n == namespace)
    }

    /// Every default, the given supervisor image (tests, benchmarks, offline use).
    pub fn with_image(supervisor_image: &str) -> Self {
        Injection {
            supervisor_image: supervisor_image.to_string(),
            supervisor_pull_policy: "IfNotPresent".into(),
            on_lookup_failure: FailurePolicy::Allow,
            delivery: Delivery::InitContainer,
            image_volumes: true,
            default_platform: Platform::default(),
            supervisor_platforms: vec![Platform::default()],
            exclude_namespaces: Vec::new(),
            own_namespace: None,
            default_settings: Vec::new(),
            max_image_lookups: 20,
        }
    }
}

/// What to do with a pod before any lookup.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Decided without lookups (skipped).
    Done(Decision),
    /// Wrap some containers once these configs are known.
    Lookup(Box<WrapPlan>),
}

/// The containers to wrap and the image configs needed.
#[derive(Debug, Clone, PartialEq)]
pub struct WrapPlan {
    /// Indices into `spec.containers`.
    pub containers: Vec<usize>,
    /// The pod's platform (from its node selection, else the default).
    pub platform: Platform,
    /// Other platforms whose argv is looked up too (the pod may land on them).
    pub alternates: Vec<Platform>,
    /// Unique images (as written) of wrapped containers without `command`, within the cap.
    pub images: Vec<String>,
    /// Images past `max_image_lookups`: not looked up.
    pub over_cap: Vec<String>,
    /// The pod's annotations, parsed.
    pub settings: PodSettings,
    /// Effective lookup-failure policy.
    pub policy: FailurePolicy,
    /// Effective delivery.
    pub delivery: Delivery,
    /// Warnings so far.
    pub warnings: Vec<String>,
}

impl WrapPlan {
    /// The (image, platform) pairs to look up: every image for the pod's platform, then for
    /// each alternate platform.
    pub fn wanted(&self) -> Vec<(String, Platform)> {
        let platforms = std::iter::once(&self.platform).chain(&self.alternates);
        platforms
            .flat_map(|p| self.images.iter().map(move |i| (i.clone(), p.clone())))
            .collect()
    }
}

fn skip(reason: SkipReason, warnings: Vec<String>) -> Plan {
    Plan::Done(Decision::Skip { reason, warnings })
}

/// Decides whether the pod is wrapped, which containers, and what must be looked up.
pub fn plan(pod: &Pod, namespace: &str, cfg: &Injection) -> Plan {
    if cfg.is_excluded(namespace) {
        return skip(SkipReason::ExcludedNamespace, vec![]);
    }
    let meta = &pod.metadata;
    match meta
        .labels
        .as_ref()
        .and_then(|l| l.get(annotations::INJECT_LABEL))
        .map(String::as_str)
    {
        Some("disabled") => return skip(SkipReason::Disabled, vec![]),
        None | Some("enabled") => {}
        Some(other) => {
            let w = format!(
                "respawn: label {}={other:?} is neither enabled nor disabled; not injected",
                annotations::INJECT_LABEL
            );
            return skip(SkipReason::Disabled, vec![w]);
        }
    }
    if select::is_injected(pod) {
        return skip(SkipReason::AlreadyInjected, vec![]);
    }
    let Some(spec) = pod.spec.as_ref() else {
        return skip(
            SkipReason::NoContainers,
            vec!["respawn: pod has no spec; not injected".into()],
        );
    };
    let (platform, pinned) = platform_of(spec, &cfg.default_platform);
    if platform.os == "windows" {
        let w = "respawn: Windows pods are not supported; not injected".to_string();
        return skip(SkipReason::Windows, vec![w]);
    }
    let settings = annotations::parse(meta.annotations.as_ref(), &cfg.default_settings);
    let mut warnings = settings.warnings.clone();
    let containers = select::containers(spec, &settings, &mut warnings);
    if containers.is_empty() {
        warnings.push("respawn: no container to wrap; not injected".into());
        return skip(SkipReason::NoContainers, warnings);
    }
    let mut images: Vec<String> = Vec::new();
    for &i in &containers {
        let c = &spec.containers[i];
        let image = c.image.clone().unwrap_or_default();
        if argv::needs_image(c.command.as_ref()) && !images.contains(&image) {
            images.push(image);
        }
    }
    let over_cap = images.split_off(images.len().min(cfg.max_image_lookups));
    let alternates = if pinned {
        Vec::new()
    } else {
        let other = |p: &&Platform| p.os == platform.os && !p.same_as(&platform);
        cfg.supervisor_platforms.iter().filter(other).cloned().collect()
    };
    let mut delivery = settings.delivery.unwrap_or(cfg.delivery);
    if delivery == Delivery::ImageVolume && !cfg.image_volumes {
        warnings.push(
            "respawn: this cluster does not support image volumes (Kubernetes < 1.35); \
             the supervisor is delivered by an init container"
                .into(),
        );
        delivery = Delivery::InitContainer;
    }
    Plan::Lookup(Box::new(WrapPlan {
        containers,
        platform,
        alternates,
        images,
        over_cap,
        policy: settings.on_lookup_failure.unwrap_or(cfg.on_lookup_failure),
        delivery,
        settings,
        warnings,
    }))
}

/// Turns a plan and the lookup results into the final decision.
pub fn decide(pod: &Pod, plan: &WrapPlan, resolved: &Resolved, cfg: &Injection) -> Decision {
    let spec = pod.spec.as_ref().expect("planned pods have a spec");
    let mut warnings = plan.warnings.clone();
    if let Some(first) = plan.over_cap.first() {
        // A pod-level limit: said once, naming every image that was not looked up.
        let c = plan
            .containers
            .iter()
            .map(|&i| &spec.containers[i])
            .find(|c| c.image.as_deref() == Some(first.as_str()))
            .expect("over-cap images come from wrapped containers");
        let cause = format!(
            "not looked up: the pod needs more than {} image lookups (--max-image-lookups); \
             images not looked up: {}",
            cfg.max_image_lookups,
            plan.over_cap.join(", ")
        );
        return lookup_failed(plan.policy, &c.name, first, &cause, warnings);
    }
    let mut wraps = Vec::with_capacity(plan.containers.len());
    let mut originals = original::Originals::default();
    let mut original_probes = original::Originals::default();
    for &i in &plan.containers {
        let c = &spec.containers[i];
        let image_ref = c.image.as_deref().unwrap_or_default();
        let image = if argv::needs_image(c.command.as_ref()) {
            match resolved.get(&lookup::key(image_ref, &plan.platform)) {
                Some(Ok(config)) => Some(config),
                Some(Err(e)) => {
                    return lookup_failed(plan.policy, &c.name, image_ref, &e.to_string(), warnings);
                }
                None => {
                    let cause = "image config was not looked up";
                    return lookup_failed(plan.policy, &c.name, image_ref, cause, warnings);
                }
            }
        } else {
            None
        };
        let (argv, source) = match argv::resolve(c.command.as_ref(), c.args.as_ref(), image.map(|i| &**i)) {
            Ok(found) => found,
            Err(e) => return lookup_failed(plan.policy, &c.name, image_ref, &e.to_string(), warnings),
        };
        let mut args: Vec<String> = Vec::new();
        let mut per_platform = Vec::new();
        if image.is_some() {
            for p in &plan.alternates {
                match resolved.get(&lookup::key(image_ref, p)) {
                    Some(Ok(alt)) => {
                        let Ok((alt_argv, _)) =
                            argv::resolve(c.command.as_ref(), c.args.as_ref(), Some(&**alt))
                        else {
                            continue;
                        };
                        if alt_argv == argv {
                            continue;
                        }
                        // The supervisor's own grammar builds the entry (the platform was
                        // parsed with it from --supervisor-platforms).
                        if let Some(entry) = respawn_settings::argv_for_args(&p.into(), &alt_argv) {
                            args.extend(entry);
                            per_platform.push((p.clone(), alt.clone()));
                        }
                    }
                    Some(Err(crate::images::LookupError::PlatformMissing { .. })) | None => {}
                    Some(Err(e)) => warnings.push(format!(
                        "respawn: container {:?}: the {p} entry of {image_ref} could not be looked up ({e}); \
                         on {p} nodes it runs the {} argv",
                        c.name, plan.platform
                    )),
                }
            }
        }
        args.push("--".into());
        args.extend(argv.iter().map(|s| s.to_string()));
        let env = select::env_for(c, &plan.settings.env, &mut warnings);
        originals.add(c, source, image.map(|i| &**i), &per_platform);
        let probes = probes::rewrite(c, &plan.settings, &mut warnings);
        original_probes.add_probes(c, probes.originals);
        wraps.push(Wrap {
            index: i,
            name: c.name.clone(),
            args,
            env,
            pod_ip: probes.pod_ip
                && !c
                    .env
                    .iter()
                    .flatten()
                    .any(|e| e.name == respawn_settings::POD_IP_ENV),
            probes: probes.probes,
        });
    }
    let names = select::Names::pick(spec);
    let (volume, install) = match plan.delivery {
        Delivery::InitContainer => (
            SupervisorVolume {
                name: names.volume,
                source: VolumeSource::EmptyDir {
                    size_limit: VOLUME_SIZE_LIMIT,
                },
            },
            Some(Install {
                name: names.init,
                image: cfg.supervisor_image.clone(),
                pull_policy: cfg.supervisor_pull_policy.clone(),
                resources: qos::install_resources(spec),
            }),
        ),
        Delivery::ImageVolume => (
            SupervisorVolume {
                name: names.volume,
                source: VolumeSource::Image {
                    reference: cfg.supervisor_image.clone(),
                    pull_policy: cfg.supervisor_pull_policy.clone(),
                },
            },
            None,
        ),
    };
    // With an init container the pod has two containers, and kubectl says which one it picked
    // on every `exec` and `logs` ("Defaulted container …"); naming the pod's first container —
    // kubectl's own default — keeps its choice and drops the notice. A pod's own choice stays.
    let names_default = pod
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(annotations::KUBECTL_DEFAULT_CONTAINER));
    let default_container = match (&install, spec.containers.first()) {
        (Some(_), Some(first)) if !names_default => Some(first.name.clone()),
        _ => None,
    };
    Decision::Inject(Box::new(Mutation {
        volume,
        install,
        containers: wraps,
        labels: vec![(annotations::INJECTED_LABEL.to_string(), "true".to_string())],
        annotations: [
            (annotations::STATUS, Some("injected".into())),
            (annotations::ORIGINAL_ARGV, Some(originals.to_json())),
            (annotations::ORIGINAL_PROBES, original_probes.non_empty_json()),
            (annotations::KUBECTL_DEFAULT_CONTAINER, default_container),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k.to_string(), v?)))
        .collect(),
        warnings,
    }))
}

fn lookup_failed(
    policy: FailurePolicy,
    container: &str,
    image: &str,
    cause: &str,
    mut warnings: Vec<String>,
) -> Decision {
    let message = format!("respawn: cannot wrap container {container:?} (image {image:?}): {cause}");
    match policy {
        FailurePolicy::Deny => Decision::Deny { message, warnings },
        FailurePolicy::Allow => {
            warnings.push(format!("{message}; pod admitted without the supervisor"));
            Decision::Skip {
                reason: SkipReason::LookupFailed,
                warnings,
            }
        }
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
