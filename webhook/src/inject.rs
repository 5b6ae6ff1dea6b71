//! The objects the webhook adds to a pod: the shared `emptyDir` volume, the `respawn-install`
//! init container (Pod Security "restricted"), the read-only mount, and free names for both.

use std::collections::HashSet;

use serde_json::{Value, json};

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
        "volumeMounts": [{"name": volume, "mountPath": INSTALL_MOUNT_PATH}],
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
        // It must deserialize as a real Container.
        let typed: k8s_openapi::api::core::v1::Container = serde_json::from_value(c).unwrap();
        assert_eq!(typed.image.as_deref(), Some("reg/sup:1"));
    }
}
