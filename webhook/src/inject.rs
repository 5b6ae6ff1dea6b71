//! The objects the webhook adds to a pod: the shared `emptyDir` volume, the `respawn-install`
//! init container (Pod Security "restricted"), free names for both, and the per-container
//! changes (command, args, mount, env) with the original-argv entry.

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use crate::argv::Source;
use crate::image::ImageConfig;
use crate::patch::PatchBuilder;
use crate::podview::{Container, Pod};

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
/// UID/GID the init container runs as (distroless `nonroot`).
pub const INSTALL_UID: i64 = 65532;
/// Where the kubelet mounts the service-account token. The init container mounts the (still
/// empty, read-only) volume here: it needs no API access, and the ServiceAccount admission
/// plugin skips containers that already have a mount at this path, so it neither hands the
/// token to the installer nor changes the pod after us (which would reinvoke the webhook).
pub const TOKEN_MOUNT_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// `base`, or `base-1`, `base-2`, … whichever is not in `taken`.
pub fn free_name(base: &str, taken: &HashSet<&str>) -> String {
    if !taken.contains(base) {
        return base.to_string();
    }
    (1..)
        .map(|i| format!("{base}-{i}"))
        .find(|n| !taken.contains(n.as_str()))
        .expect("unbounded")
}

/// The `emptyDir` volume holding the supervisor binary.
pub fn volume(name: &str) -> Value {
    json!({"name": name, "emptyDir": {"sizeLimit": "16Mi"}})
}

/// The read-only mount added to wrapped containers.
pub fn mount(volume: &str) -> Value {
    json!({"name": volume, "mountPath": MOUNT_PATH, "readOnly": true})
}

/// The init container that runs `respawn install` into the volume.
pub fn init_container(name: &str, volume: &str, image: &str, pull_policy: &str) -> Value {
    json!({
        "name": name,
        "image": image,
        "imagePullPolicy": pull_policy,
        "command": [IMAGE_BINARY, "install", format!("{INSTALL_MOUNT_PATH}/respawn")],
        "volumeMounts": [
            {"name": volume, "mountPath": INSTALL_MOUNT_PATH},
            {"name": volume, "mountPath": TOKEN_MOUNT_PATH, "readOnly": true},
        ],
        "resources": {
            "requests": {"cpu": "10m", "memory": "16Mi"},
            "limits": {"cpu": "100m", "memory": "32Mi"},
        },
        "securityContext": {
            "runAsNonRoot": true,
            "runAsUser": INSTALL_UID,
            "runAsGroup": INSTALL_UID,
            "allowPrivilegeEscalation": false,
            "privileged": false,
            "readOnlyRootFilesystem": true,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "terminationMessagePolicy": "FallbackToLogsOnError",
    })
}

/// Free names for the volume and the init container.
pub(crate) struct Names {
    /// Volume name.
    pub(crate) volume: String,
    /// Init container name.
    pub(crate) init: String,
}

impl Names {
    /// Picks names no existing volume/container uses.
    pub(crate) fn pick(pod: &Pod) -> Names {
        let spec = pod.spec.as_ref().expect("planned pods have a spec");
        let volumes: HashSet<&str> = spec.volumes.iter().flatten().map(|v| v.name.as_str()).collect();
        let containers: HashSet<&str> = spec
            .containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
            .map(|c| c.name.as_str())
            .chain(
                spec.ephemeral_containers
                    .iter()
                    .flatten()
                    .map(|c| c.name.as_str()),
            )
            .collect();
        Names {
            volume: free_name(VOLUME_NAME, &volumes),
            init: free_name(INIT_NAME, &containers),
        }
    }
}

/// command, args, mount and `RESPAWN_*` env of one wrapped container.
pub(crate) fn wrap_container(
    b: &mut PatchBuilder,
    i: usize,
    c: &Container,
    argv: Vec<String>,
    volume: &str,
    env: &[(String, String)],
    warnings: &mut Vec<String>,
) {
    let idx = i.to_string();
    let base = ["spec", "containers", idx.as_str()];
    let at = |field: &'static str| [base[0], base[1], base[2], field];
    b.add(&at("command"), json!([SUPERVISOR_PATH]));
    let mut args = Vec::with_capacity(argv.len() + 1);
    args.push("--".to_string());
    args.extend(argv);
    b.add(&at("args"), json!(args));
    b.append(&at("volumeMounts"), c.volume_mounts.is_some(), mount(volume));
    let mut env_present = c.env.is_some();
    for (name, value) in env {
        if c.env.iter().flatten().any(|e| &e.name == name) {
            warnings.push(format!(
                "respawn: container {:?} already sets {name}; annotation value not applied",
                c.name
            ));
            continue;
        }
        b.append(&at("env"), env_present, json!({"name": name, "value": value}));
        env_present = true;
    }
}

/// The original-argv annotation entry of one container.
pub(crate) fn original_entry(c: &Container, source: Source, image: Option<&ImageConfig>) -> Value {
    let mut m = Map::new();
    m.insert("command".into(), json!(c.command));
    m.insert("args".into(), json!(c.args));
    m.insert("source".into(), json!(source));
    if let Some(img) = image {
        m.insert("entrypoint".into(), json!(img.entrypoint));
        m.insert("cmd".into(), json!(img.cmd));
        if let Some(d) = &img.digest {
            m.insert("digest".into(), json!(d));
        }
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_avoid_collisions() {
        let taken: HashSet<&str> = ["respawn", "respawn-1", "x"].into_iter().collect();
        assert_eq!(free_name("respawn", &taken), "respawn-2");
        assert_eq!(free_name("respawn-install", &taken), "respawn-install");
    }

    #[test]
    fn init_container_is_restricted() {
        let c = init_container("respawn-install", "respawn", "reg/sup:1", "Always");
        let sc = &c["securityContext"];
        assert_eq!(sc["runAsNonRoot"], true);
        assert_eq!(sc["allowPrivilegeEscalation"], false);
        assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]));
        assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault");
        assert_eq!(sc["readOnlyRootFilesystem"], true);
        assert_eq!(
            c["command"],
            json!(["/respawn", "install", "/respawn-vol/respawn"])
        );
        assert_eq!(
            c["volumeMounts"][1],
            json!({"name": "respawn", "mountPath": TOKEN_MOUNT_PATH, "readOnly": true}),
            "the installer must shadow the token path (no token, no reinvocation)"
        );
        // It must deserialize as a real Container.
        let typed: k8s_openapi::api::core::v1::Container = serde_json::from_value(c).unwrap();
        assert_eq!(typed.image.as_deref(), Some("reg/sup:1"));
    }
}
