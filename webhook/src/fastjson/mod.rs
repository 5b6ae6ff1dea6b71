//! The hot path's reader for a Pod AdmissionReview: a strict, single-pass JSON reader that
//! fills the same view as serde (`review::PodReviewIn`) without serde's per-token machinery.
//!
//! An admission body is mostly fields the webhook never reads (userInfo, ownerReferences,
//! managedFields, probes, resources …). serde_json pays a generic visitor call, a key parse and
//! a UTF-8 check for each of them; here the body is checked for UTF-8 once (64 bytes a step
//! when it is ASCII), strings are found sixteen bytes at a time (SSE2 on x86_64), and unknown
//! values are skipped with a grammar check only.
//!
//! The contract, which the tests check against serde_json on fixtures, generated reviews and
//! mutated bodies: when [`pod_review`] returns `Some(v)`, `serde_json::from_slice` returns
//! `Ok(v)` for the same bytes. Whenever the reader is not sure — invalid JSON, `null` or a wrong
//! type in a field the view reads, a duplicate field, a lone surrogate, nesting deeper than
//! [`MAX_DEPTH`] — it returns `None` and the caller asks serde_json, which gives the answer or
//! the precise error. Rejecting more than serde is allowed; accepting more is not.

use kube::core::admission::Operation;

use crate::podview::{Container, Named, ObjectMeta, Pod, PodSpec, VolumeMount};
use crate::review::{KindIn, PodRequestIn, PodReviewIn};

mod lex;
pub(crate) use lex::special_mask;
mod scan;
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod simd;
mod skip;

use scan::Reader;

/// Reads an object whose known members are listed as `"key" => statement` (the statement reads
/// the value through `r`); unknown members are skipped, a known one seen twice declines.
macro_rules! fields {
    ($reader:expr, $r:ident, { $( $key:literal => $read:expr ),+ $(,)? }) => {{
        let mut seen = 0u32;
        $reader.object(|$r, key| {
            let mut bit = 0;
            $(
                if key == $key.as_bytes() {
                    once(&mut seen, bit)?;
                    $read;
                    return Some(());
                }
                #[allow(unused_assignments)]
                {
                    bit += 1;
                }
            )+
            $r.skip()
        })
    }};
}

/// Deepest nesting the reader follows (serde_json's limit is 128).
pub const MAX_DEPTH: u32 = 100;

/// Reads a Pod AdmissionReview, or `None` when serde_json must decide (see the module docs).
pub fn pod_review(body: &[u8]) -> Option<PodReviewIn<'_>> {
    let mut r = Reader::new(utf8(body)?);
    let mut request = None;
    r.ws();
    fields!(r, r, { "request" => request = Some(r.request()?) })?;
    r.at_end().then_some(PodReviewIn { request })
}

/// The body as `str`: on x86_64 the common all-ASCII body is tested 64 bytes a step and
/// needs no UTF-8 check.
fn utf8(body: &[u8]) -> Option<&str> {
    #[cfg(target_arch = "x86_64")]
    if let Some(s) = simd::ascii_str(body) {
        return Some(s);
    }
    std::str::from_utf8(body).ok()
}

/// Marks field `bit` as seen; `None` on a duplicate (serde rejects duplicate known fields).
fn once(seen: &mut u32, bit: u32) -> Option<()> {
    if *seen & (1 << bit) != 0 {
        return None;
    }
    *seen |= 1 << bit;
    Some(())
}

impl<'a> Reader<'a> {
    fn request(&mut self) -> Option<PodRequestIn<'a>> {
        let (mut uid, mut kind, mut sub_resource, mut namespace) = (None, None, None, None);
        let (mut operation, mut object) = (None, None);
        fields!(self, r, {
            "uid" => uid = Some(r.owned()?),
            "kind" => kind = Some(r.gvk()?),
            "subResource" => sub_resource = Some(r.owned()?),
            "namespace" => namespace = Some(r.owned()?),
            "operation" => operation = Some(r.operation()?),
            "object" => r.pod(object.insert(Pod::default()))?,
        })?;
        Some(PodRequestIn {
            uid: uid?,
            kind: kind?,
            sub_resource,
            namespace,
            operation: operation?,
            object,
        })
    }

    fn gvk(&mut self) -> Option<KindIn<'a>> {
        let (mut group, mut version, mut kind) = (None, None, None);
        fields!(self, r, {
            "group" => group = Some(r.owned()?),
            "version" => version = Some(r.owned()?),
            "kind" => kind = Some(r.owned()?),
        })?;
        Some(KindIn {
            group: group?,
            version: version?,
            kind: kind?,
        })
    }

    fn operation(&mut self) -> Option<Operation> {
        Some(match &*self.string()? {
            "CREATE" => Operation::Create,
            "UPDATE" => Operation::Update,
            "DELETE" => Operation::Delete,
            "CONNECT" => Operation::Connect,
            _ => return None,
        })
    }

    // The large parts of the view are filled in place rather than returned: moving them costs
    // a copy each.

    fn pod(&mut self, pod: &mut Pod<'a>) -> Option<()> {
        fields!(self, r, {
            "metadata" => r.metadata(&mut pod.metadata)?,
            "spec" => r.spec(pod.spec.insert(PodSpec::default()))?,
        })
    }

    fn metadata(&mut self, m: &mut ObjectMeta<'a>) -> Option<()> {
        fields!(self, r, {
            "name" => m.name = Some(r.owned()?),
            "generateName" => m.generate_name = Some(r.owned()?),
            "namespace" => m.namespace = Some(r.owned()?),
            "labels" => m.labels = Some(r.string_map()?),
            "annotations" => m.annotations = Some(r.string_map()?),
        })
    }

    fn spec(&mut self, s: &mut PodSpec<'a>) -> Option<()> {
        fields!(self, r, {
            "containers" => s.containers = r.list(Self::container)?,
            "initContainers" => s.init_containers = Some(r.list(Self::container)?),
            "ephemeralContainers" => s.ephemeral_containers = Some(r.list(Self::named)?),
            "volumes" => s.volumes = Some(r.list(Self::named)?),
            "nodeSelector" => s.node_selector = Some(r.string_map()?),
            "os" => r.named(s.os.insert(Named::default()))?,
            "imagePullSecrets" => s.image_pull_secrets = Some(r.list(Self::named)?),
            "serviceAccountName" => s.service_account_name = Some(r.owned()?),
        })
    }

    fn container(&mut self, c: &mut Container<'a>) -> Option<()> {
        fields!(self, r, {
            "name" => c.name = r.owned()?,
            "image" => c.image = Some(r.owned()?),
            "command" => c.command = Some(r.strings()?),
            "args" => c.args = Some(r.strings()?),
            "env" => c.env = Some(r.list(Self::named)?),
            "volumeMounts" => c.volume_mounts = Some(r.list(Self::volume_mount)?),
        })
    }

    fn named(&mut self, n: &mut Named<'a>) -> Option<()> {
        fields!(self, r, { "name" => n.name = r.owned()? })
    }

    fn volume_mount(&mut self, m: &mut VolumeMount<'a>) -> Option<()> {
        fields!(self, r, { "mountPath" => m.mount_path = r.owned()? })
    }
}
