//! The objects the webhook adds to a pod: the shared `emptyDir` volume, the `respawn-install`
//! init container (Pod Security "restricted"), free names for both, and the per-container
//! changes (command, args, mount, env) with the original-argv entry.

use std::borrow::Cow;

use crate::argv::Source;
use crate::config::Injection;
use crate::image::ImageConfig;
use crate::jsonw;
use crate::patch::{Head, PatchWriter};
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

/// `base`, or `base-1`, `base-2`, … whichever is not `taken`.
pub fn free_name(base: &'static str, taken: impl Fn(&str) -> bool) -> Cow<'static, str> {
    if !taken(base) {
        return Cow::Borrowed(base);
    }
    (1..)
        .map(|i| format!("{base}-{i}"))
        .find(|n| !taken(n))
        .map(Cow::Owned)
        .expect("unbounded")
}

/// The `emptyDir` volume holding the supervisor binary.
pub fn volume(out: &mut Vec<u8>, name: &str) {
    out.extend_from_slice(br#"{"name":"#);
    jsonw::string(out, name);
    out.extend_from_slice(br#","emptyDir":{"sizeLimit":"16Mi"}}"#);
}

/// The read-only mount added to wrapped containers.
pub fn mount(out: &mut Vec<u8>, volume: &str) {
    out.extend_from_slice(br#"{"name":"#);
    jsonw::string(out, volume);
    out.extend_from_slice(br#","mountPath":"/respawn","readOnly":true}"#);
}

/// The init container that runs `respawn install` into the volume: Pod Security
/// "restricted", small requests and limits, and the token path shadowed (see
/// [`TOKEN_MOUNT_PATH`]).
pub fn init_container(out: &mut Vec<u8>, name: &str, volume: &str, image: &str, pull_policy: &str) {
    out.extend_from_slice(br#"{"name":"#);
    jsonw::string(out, name);
    out.extend_from_slice(br#","image":"#);
    jsonw::string(out, image);
    out.extend_from_slice(br#","imagePullPolicy":"#);
    jsonw::string(out, pull_policy);
    out.extend_from_slice(
        br#","command":["/respawn","install","/respawn-vol/respawn"],"volumeMounts":[{"name":"#,
    );
    jsonw::string(out, volume);
    out.extend_from_slice(br#","mountPath":"/respawn-vol"},{"name":"#);
    jsonw::string(out, volume);
    out.extend_from_slice(concat!(
        r#","mountPath":"/var/run/secrets/kubernetes.io/serviceaccount","readOnly":true}],"#,
        r#""resources":{"requests":{"cpu":"10m","memory":"16Mi"},"limits":{"cpu":"100m","memory":"32Mi"}},"#,
        r#""securityContext":{"runAsNonRoot":true,"runAsUser":65532,"runAsGroup":65532,"#,
        r#""allowPrivilegeEscalation":false,"privileged":false,"readOnlyRootFilesystem":true,"#,
        r#""capabilities":{"drop":["ALL"]},"seccompProfile":{"type":"RuntimeDefault"}},"#,
        r#""terminationMessagePolicy":"FallbackToLogsOnError"}"#
    ).as_bytes());
}

/// Where the init container goes: the list itself when the pod has none, else index 0.
fn init_path(present: bool) -> &'static str {
    if present {
        "/spec/initContainers/0"
    } else {
        "/spec/initContainers"
    }
}

/// The value added at [`init_path`]: the init container, in a list when the pod has none.
fn init_value(out: &mut Vec<u8>, present: bool, names: &Names, cfg: &Injection) {
    if !present {
        out.push(b'[');
    }
    init_container(
        out,
        &names.init,
        &names.volume,
        &cfg.supervisor_image,
        &cfg.supervisor_pull_policy,
    );
    if !present {
        out.push(b']');
    }
}

/// The init-container operation for the default names, rendered once per configuration with
/// its base64: it is the same for every pod without a name collision, and the largest part of
/// every patch.
#[derive(Debug, Clone)]
pub struct InitHeads {
    image: String,
    pull_policy: String,
    absent: Head,
    present: Head,
}

impl InitHeads {
    fn new(cfg: &Injection) -> InitHeads {
        let names = Names {
            volume: VOLUME_NAME.into(),
            init: INIT_NAME.into(),
        };
        let head = |present| Head::new(init_path(present), |out| init_value(out, present, &names, cfg));
        InitHeads {
            image: cfg.supervisor_image.clone(),
            pull_policy: cfg.supervisor_pull_policy.clone(),
            absent: head(false),
            present: head(true),
        }
    }
}

/// A patch writer whose first operation adds the init container: from the cache when the
/// names are the default ones and the configuration is the one rendered.
pub(crate) fn start_patch(cfg: &Injection, names: &Names, present: bool) -> PatchWriter {
    if names.volume == VOLUME_NAME && names.init == INIT_NAME {
        let heads = cfg.rendered.get_or_init(|| InitHeads::new(cfg));
        if heads.image == cfg.supervisor_image && heads.pull_policy == cfg.supervisor_pull_policy {
            return PatchWriter::starting_with(if present { &heads.present } else { &heads.absent });
        }
    }
    let mut b = PatchWriter::default();
    b.add(init_path(present), |out| init_value(out, present, names, cfg));
    b
}

/// Free names for the volume and the init container.
pub(crate) struct Names {
    /// Volume name.
    pub(crate) volume: Cow<'static, str>,
    /// Init container name.
    pub(crate) init: Cow<'static, str>,
}

impl Names {
    /// Picks names no existing volume/container uses (a pod has a handful of each: a linear
    /// scan beats hashing).
    pub(crate) fn pick(pod: &Pod) -> Names {
        let spec = pod.spec.as_ref().expect("planned pods have a spec");
        let volume_taken = |n: &str| spec.volumes.iter().flatten().any(|v| v.name == n);
        let container_taken = |n: &str| {
            spec.containers
                .iter()
                .chain(spec.init_containers.iter().flatten())
                .any(|c| c.name == n)
                || spec.ephemeral_containers.iter().flatten().any(|c| c.name == n)
        };
        Names {
            volume: free_name(VOLUME_NAME, volume_taken),
            init: free_name(INIT_NAME, container_taken),
        }
    }
}

/// command, args, mount and `RESPAWN_*` env of one wrapped container.
pub(crate) fn wrap_container(
    b: &mut PatchWriter,
    i: usize,
    c: &Container,
    argv: &[std::borrow::Cow<str>],
    volume: &str,
    env: &[(String, String)],
    warnings: &mut Vec<String>,
) {
    let mut at = FieldPaths::new(i);
    b.add(at.field("command"), |out| jsonw::strings(out, &[SUPERVISOR_PATH]));
    b.add(at.field("args"), |out| {
        out.extend_from_slice(br#"["--""#);
        for a in argv {
            out.push(b',');
            jsonw::string(out, a);
        }
        out.push(b']');
    });
    b.append(at.field("volumeMounts"), c.volume_mounts.is_some(), |out| {
        mount(out, volume)
    });
    let mut env_present = c.env.is_some();
    for (name, value) in env {
        if c.env.iter().flatten().any(|e| e.name == *name) {
            warnings.push(format!(
                "respawn: container {:?} already sets {name}; annotation value not applied",
                c.name
            ));
            continue;
        }
        b.append(at.field("env"), env_present, |out| {
            out.extend_from_slice(br#"{"name":"#);
            jsonw::string(out, name);
            out.extend_from_slice(br#","value":"#);
            jsonw::string(out, value);
            out.push(b'}');
        });
        env_present = true;
    }
}

/// The pointers to one container's fields: `/spec/containers/{i}/` written once, each field
/// appended in place of the previous one (no allocation per operation).
struct FieldPaths {
    path: String,
    base: usize,
}

impl FieldPaths {
    fn new(i: usize) -> Self {
        let mut path = String::with_capacity(48);
        path.push_str("/spec/containers/");
        // The index's digits, without the formatting machinery.
        crate::logfmt::write_u64(&mut path, i as u64).expect("writing to a String cannot fail");
        path.push('/');
        let base = path.len();
        FieldPaths { path, base }
    }

    fn field(&mut self, name: &str) -> &str {
        self.path.truncate(self.base);
        self.path.push_str(name);
        &self.path
    }
}

/// One wrapped container's entry in the original-argv annotation.
pub(crate) struct Original<'a> {
    /// The container.
    pub(crate) container: &'a Container<'a>,
    /// Where the argv came from.
    pub(crate) source: Source,
    /// The image config consulted, if any.
    pub(crate) image: Option<&'a ImageConfig>,
}

/// The original-argv annotation's value: a JSON object by container name (sorted), each with
/// `args`, `command`, `source` and, when the image was consulted, `entrypoint`, `cmd` and
/// `digest` (keys sorted too, so the text is stable).
///
/// An annotation value is a string, so this JSON text is written as a JSON string straight
/// away (quotes included): the structure's quotes as `\"`, each string escaped twice by
/// [`jsonw::nested_string`], instead of writing the text and escaping it in a second pass.
pub(crate) fn original_argv(out: &mut Vec<u8>, entries: &mut [Original<'_>]) {
    entries.sort_by(|a, b| a.container.name.cmp(&b.container.name));
    out.extend_from_slice(b"\"{");
    for (n, e) in entries.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        let c = e.container;
        jsonw::nested_string(out, &c.name);
        out.extend_from_slice(br#":{\"args\":"#);
        jsonw::nested_strings(out, c.args.as_deref());
        if let Some(img) = e.image {
            out.extend_from_slice(br#",\"cmd\":"#);
            jsonw::nested_strings(out, img.cmd.as_deref());
        }
        out.extend_from_slice(br#",\"command\":"#);
        jsonw::nested_strings(out, c.command.as_deref());
        if let Some(img) = e.image {
            if let Some(d) = &img.digest {
                out.extend_from_slice(br#",\"digest\":"#);
                jsonw::nested_string(out, d);
            }
            out.extend_from_slice(br#",\"entrypoint\":"#);
            jsonw::nested_strings(out, img.entrypoint.as_deref());
        }
        out.extend_from_slice(br#",\"source\":"#);
        jsonw::nested_string(out, e.source.as_str());
        out.push(b'}');
    }
    out.extend_from_slice(b"}\"");
}

#[cfg(test)]
#[path = "inject_tests.rs"]
mod tests;
