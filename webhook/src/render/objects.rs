//! The objects an injection adds, as k8s-openapi types: the supervisor volume, its read-only
//! mount, the `respawn-install` init container (Pod Security "restricted"), and for rewritten
//! probes the probe itself and the `RESPAWN_POD_IP` variable.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, Container, EmptyDirVolumeSource, EnvVar, EnvVarSource, ExecAction, ImageVolumeSource,
    ObjectFieldSelector, Probe, ResourceRequirements, SeccompProfile, SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::decision::{
    IMAGE_BINARY, INSTALL_MOUNT_PATH, Install, MOUNT_PATH, ProbeField, ProbeRewrite, SupervisorVolume,
    VolumeSource,
};

/// UID/GID the init container runs as (distroless `nonroot`).
pub const INSTALL_UID: i64 = 65532;
/// Where the kubelet mounts the service-account token. The init container mounts the (still
/// empty, read-only) volume here: it needs no API access, and the ServiceAccount admission
/// plugin skips containers that already have a mount at this path, so it neither hands the
/// token to the installer nor changes the pod after us (which would reinvoke the webhook).
pub const TOKEN_MOUNT_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// The volume holding the supervisor.
pub fn supervisor_volume(v: &SupervisorVolume) -> Volume {
    let mut vol = Volume {
        name: v.name.clone(),
        ..Default::default()
    };
    match &v.source {
        VolumeSource::EmptyDir { size_limit } => {
            vol.empty_dir = Some(EmptyDirVolumeSource {
                size_limit: Some(Quantity((*size_limit).into())),
                ..Default::default()
            });
        }
        VolumeSource::Image {
            reference,
            pull_policy,
        } => {
            vol.image = Some(ImageVolumeSource {
                reference: Some(reference.clone()),
                pull_policy: Some(pull_policy.clone()),
            });
        }
    }
    vol
}

/// The read-only mount added to wrapped containers.
pub fn supervisor_mount(volume: &str) -> VolumeMount {
    VolumeMount {
        name: volume.to_string(),
        mount_path: MOUNT_PATH.into(),
        read_only: Some(true),
        ..Default::default()
    }
}

/// The init container that runs `respawn install` into the volume: Pod Security "restricted",
/// resources that keep the pod's QoS class, and the token path shadowed (see
/// [`TOKEN_MOUNT_PATH`]).
pub fn install_container(install: &Install, volume: &str) -> Container {
    let quantities = |(cpu, memory): (&str, &str)| {
        BTreeMap::from([
            ("cpu".to_string(), Quantity(cpu.into())),
            ("memory".to_string(), Quantity(memory.into())),
        ])
    };
    Container {
        name: install.name.clone(),
        image: Some(install.image.clone()),
        image_pull_policy: Some(install.pull_policy.clone()),
        command: Some(vec![
            IMAGE_BINARY.into(),
            "install".into(),
            format!("{INSTALL_MOUNT_PATH}/respawn"),
        ]),
        volume_mounts: Some(vec![
            VolumeMount {
                name: volume.to_string(),
                mount_path: INSTALL_MOUNT_PATH.into(),
                ..Default::default()
            },
            VolumeMount {
                name: volume.to_string(),
                mount_path: TOKEN_MOUNT_PATH.into(),
                read_only: Some(true),
                ..Default::default()
            },
        ]),
        resources: install.resources.as_ref().map(|r| ResourceRequirements {
            requests: Some(quantities(r.requests)),
            limits: Some(quantities(r.limits)),
            ..Default::default()
        }),
        security_context: Some(SecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(INSTALL_UID),
            run_as_group: Some(INSTALL_UID),
            allow_privilege_escalation: Some(false),
            privileged: Some(false),
            read_only_root_filesystem: Some(true),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                ..Default::default()
            }),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        termination_message_policy: Some("FallbackToLogsOnError".into()),
        ..Default::default()
    }
}

/// `RESPAWN_POD_IP` from the downward API: where `respawn probe` sends network checks.
pub fn pod_ip_var() -> EnvVar {
    EnvVar {
        name: respawn_settings::POD_IP_ENV.into(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: "status.podIP".into(),
                api_version: None,
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// `c`'s probe with its handler replaced by `exec: {command: r.command}`; every other field
/// (periods, thresholds, timeout, `terminationGracePeriodSeconds`) as it was. `None` when the
/// container has no such probe (another webhook removed it after our decision).
pub fn probe_for(c: &Container, r: &ProbeRewrite) -> Option<Probe> {
    let original = match r.field {
        ProbeField::Liveness => c.liveness_probe.as_ref(),
        ProbeField::Startup => c.startup_probe.as_ref(),
    }?;
    Some(Probe {
        exec: Some(ExecAction {
            command: Some(r.command.clone()),
        }),
        http_get: None,
        tcp_socket: None,
        grpc: None,
        ..original.clone()
    })
}
