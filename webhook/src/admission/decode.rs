//! Reading an AdmissionReview: serde_json into kube's `AdmissionReview` of an [`AdmittedPod`]
//! (a k8s-openapi `Pod` read without what the decision never looks at); when that fails, the
//! same into `AdmissionReview<DynamicObject>` (a non-Pod kind, or a Pod too broken to read), and
//! when that fails too, just the request's uid, so the answer can still name the request.

use std::borrow::Cow;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Pod, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::core::admission::{AdmissionRequest, AdmissionReview, Operation};
use kube::core::{DynamicObject, NamespaceResourceScope};

/// The pod of a review as the decision reads it: the whole `spec` as k8s-openapi's `PodSpec`,
/// and of `metadata` the name, generateName, namespace, labels and annotations. The rest —
/// `metadata.managedFields` above all, a free-form JSON tree the apiserver adds to every create
/// (about 40% of a typical review), and `status` — is skipped by serde without being built:
/// reading it into k8s-openapi's types was half of the handler's CPU (docs/decisions.md).
#[derive(Debug)]
pub struct AdmittedPod(pub Pod);

impl<'de> serde::Deserialize<'de> for AdmittedPod {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        struct Wire {
            #[serde(default)]
            metadata: Meta,
            spec: Option<PodSpec>,
        }
        #[derive(serde::Deserialize, Default)]
        #[serde(rename_all = "camelCase", default)]
        struct Meta {
            name: Option<String>,
            generate_name: Option<String>,
            namespace: Option<String>,
            labels: Option<BTreeMap<String, String>>,
            annotations: Option<BTreeMap<String, String>>,
        }
        let Wire { metadata: m, spec } = Wire::deserialize(d)?;
        let metadata = ObjectMeta {
            name: m.name,
            generate_name: m.generate_name,
            namespace: m.namespace,
            labels: m.labels,
            annotations: m.annotations,
            ..ObjectMeta::default()
        };
        Ok(AdmittedPod(Pod {
            metadata,
            spec,
            status: None,
        }))
    }
}

/// The same resource as k8s-openapi's `Pod` (kube's `AdmissionReview` needs a `Resource`).
impl kube::Resource for AdmittedPod {
    type DynamicType = ();
    type Scope = NamespaceResourceScope;

    fn kind(dt: &()) -> Cow<'_, str> {
        Pod::kind(dt)
    }
    fn group(dt: &()) -> Cow<'_, str> {
        Pod::group(dt)
    }
    fn version(dt: &()) -> Cow<'_, str> {
        Pod::version(dt)
    }
    fn plural(dt: &()) -> Cow<'_, str> {
        Pod::plural(dt)
    }
    fn meta(&self) -> &ObjectMeta {
        &self.0.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.0.metadata
    }
}

/// What a body turned out to be.
#[derive(Debug)]
pub enum Decoded {
    /// A Pod CREATE to decide on.
    Pod(Box<PodRequest>),
    /// Answered without a decision: admitted unchanged (other kinds, operations, subresources),
    /// or invalid.
    Answer(Early),
}

/// A Pod CREATE: what the handler needs of the request.
#[derive(Debug)]
pub struct PodRequest {
    /// The request's uid, echoed in the answer.
    pub uid: String,
    /// The pod's namespace: `request.namespace`, else the pod's own, else `default`.
    pub namespace: String,
    /// `request.object`.
    pub pod: Pod,
}

/// An answer known from decoding alone.
#[derive(Debug, PartialEq, Eq)]
pub enum Early {
    /// Admit unchanged, with these warnings.
    Ignore {
        /// The request's uid.
        uid: String,
        /// Warnings for the user.
        warnings: Vec<String>,
    },
    /// The request cannot be answered sensibly.
    Invalid {
        /// The request's uid, when it could be read (else empty).
        uid: String,
        /// What is wrong.
        message: String,
    },
}

/// Reads `body`.
pub fn decode(body: &[u8]) -> Decoded {
    let pod_error = match serde_json::from_slice::<AdmissionReview<AdmittedPod>>(body) {
        Ok(review) => match TryInto::<AdmissionRequest<AdmittedPod>>::try_into(review) {
            Ok(req) => return typed(req),
            Err(_) => return no_request(body),
        },
        Err(e) => e,
    };
    match serde_json::from_slice::<AdmissionReview<DynamicObject>>(body) {
        Ok(review) => match TryInto::<AdmissionRequest<DynamicObject>>::try_into(review) {
            Ok(req) => untyped(req, &pod_error),
            Err(_) => no_request(body),
        },
        Err(e) => Decoded::Answer(Early::Invalid {
            uid: uid_of(body).unwrap_or_default(),
            message: format!("respawn: cannot read AdmissionReview: {e}"),
        }),
    }
}

fn no_request(body: &[u8]) -> Decoded {
    Decoded::Answer(Early::Invalid {
        uid: uid_of(body).unwrap_or_default(),
        message: "respawn: AdmissionReview has no request".into(),
    })
}

/// The request's uid from a body nothing else can be read from: `request.uid` when the body
/// is JSON and that is a string (duplicate keys: the last, as Go's decoder takes it).
pub fn uid_of(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v.get("request")?.get("uid")?.as_str().map(str::to_string)
}

/// A Pod review: only CREATE of the pod itself is decided on.
fn typed(req: AdmissionRequest<AdmittedPod>) -> Decoded {
    if let Some(answer) = not_handled(
        &req.uid,
        &req.kind.group,
        &req.kind.kind,
        req.sub_resource.as_deref(),
        &req.operation,
    ) {
        return Decoded::Answer(answer);
    }
    match req.object {
        Some(AdmittedPod(pod)) => Decoded::Pod(Box::new(PodRequest {
            uid: req.uid,
            namespace: req
                .namespace
                .or_else(|| pod.metadata.namespace.clone())
                .unwrap_or_else(|| "default".into()),
            pod,
        })),
        None => Decoded::Answer(Early::Invalid {
            uid: req.uid,
            message: "respawn: request has no object".into(),
        }),
    }
}

/// A review that is not a readable Pod: another kind is admitted with a warning; a Pod that
/// cannot be read is invalid, and the message says why.
fn untyped(req: AdmissionRequest<DynamicObject>, pod_error: &serde_json::Error) -> Decoded {
    if let Some(answer) = not_handled(
        &req.uid,
        &req.kind.group,
        &req.kind.kind,
        req.sub_resource.as_deref(),
        &req.operation,
    ) {
        return Decoded::Answer(answer);
    }
    Decoded::Answer(Early::Invalid {
        uid: req.uid,
        message: format!("respawn: object is not a valid Pod: {pod_error}"),
    })
}

/// Anything but `CREATE` of a Pod is admitted unchanged (other kinds with a warning: the
/// webhook configuration sends them by mistake).
fn not_handled(
    uid: &str,
    group: &str,
    kind: &str,
    sub_resource: Option<&str>,
    operation: &Operation,
) -> Option<Early> {
    let is_pod = group.is_empty() && kind == "Pod" && sub_resource.is_none();
    if !is_pod {
        let why = format!("respawn: only pods are handled, ignoring {group}/{kind}");
        return Some(Early::Ignore {
            uid: uid.into(),
            warnings: vec![why],
        });
    }
    if !matches!(operation, Operation::Create) {
        return Some(Early::Ignore {
            uid: uid.into(),
            warnings: vec![],
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review(request: serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request
        }))
        .unwrap()
    }

    fn request(kind: &str, operation: &str, object: serde_json::Value) -> serde_json::Value {
        serde_json::json!({
            "uid": "u-1", "kind": {"group": "", "version": "v1", "kind": kind},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "operation": operation, "userInfo": {}, "object": object
        })
    }

    #[test]
    fn pods_other_kinds_and_broken_bodies() {
        let pod = serde_json::json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}]}});
        assert!(matches!(
            decode(&review(request("Pod", "CREATE", pod.clone()))),
            Decoded::Pod(_)
        ));
        let update = decode(&review(request("Pod", "UPDATE", pod)));
        assert!(matches!(update, Decoded::Answer(Early::Ignore { ref uid, .. }) if uid == "u-1"));
        let cm = decode(&review(request(
            "ConfigMap",
            "CREATE",
            serde_json::json!({"data": {"a": "b"}}),
        )));
        let Decoded::Answer(Early::Ignore { uid, warnings }) = cm else {
            panic!("{cm:?}")
        };
        assert_eq!(uid, "u-1");
        assert!(warnings[0].contains("only pods"));
        let broken = decode(&review(request(
            "Pod",
            "CREATE",
            serde_json::json!({"spec": {"containers": 7}}),
        )));
        let Decoded::Answer(Early::Invalid { uid, message }) = broken else {
            panic!()
        };
        assert_eq!(uid, "u-1");
        assert!(message.contains("not a valid Pod"), "{message}");
    }

    #[test]
    fn the_pod_is_read_without_managed_fields_and_status() {
        let pod = serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {
                "name": "p", "generateName": "p-", "namespace": "ns", "uid": "x", "resourceVersion": "7",
                "labels": {"app": "a"}, "annotations": {"respawn.dev/watch": "/app"},
                "managedFields": [{"manager": "kubectl", "operation": "Update", "fieldsType": "FieldsV1",
                                   "fieldsV1": {"f:spec": {"f:containers": {"k:{\"name\":\"a\"}": {".": {}}}}}}]
            },
            "spec": {"containers": [{"name": "a", "image": "app:v1", "args": ["--x"]}]},
            "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False"}]}
        });
        let Decoded::Pod(req) = decode(&review(request("Pod", "CREATE", pod))) else {
            panic!("not decoded as a pod")
        };
        let m = &req.pod.metadata;
        assert_eq!(
            (
                m.name.as_deref(),
                m.generate_name.as_deref(),
                m.namespace.as_deref()
            ),
            (Some("p"), Some("p-"), Some("ns"))
        );
        assert_eq!(m.labels.as_ref().unwrap()["app"], "a");
        assert_eq!(m.annotations.as_ref().unwrap()["respawn.dev/watch"], "/app");
        // What the decision never reads is not built.
        assert!(m.managed_fields.is_none() && m.uid.is_none() && req.pod.status.is_none());
        let c = &req.pod.spec.as_ref().unwrap().containers[0];
        assert_eq!(
            (c.name.as_str(), c.args.as_ref().unwrap()[0].as_str()),
            ("a", "--x")
        );
        assert_eq!(req.uid, "u-1");
        // The fields it reads are still checked: a wrongly typed label map is invalid.
        let broken = serde_json::json!({"metadata": {"labels": ["a"]}, "spec": {"containers": []}});
        let answer = decode(&review(request("Pod", "CREATE", broken)));
        assert!(
            matches!(answer, Decoded::Answer(Early::Invalid { ref uid, .. }) if uid == "u-1"),
            "{answer:?}"
        );
    }

    #[test]
    fn the_uid_is_echoed_when_only_it_is_readable() {
        let body = br#"{"request": {"uid": "only-this", "kind": 12}}"#;
        let Decoded::Answer(Early::Invalid { uid, message }) = decode(body) else {
            panic!()
        };
        assert_eq!(uid, "only-this");
        assert!(message.contains("cannot read AdmissionReview"), "{message}");
        let Decoded::Answer(Early::Invalid { uid, .. }) = decode(b"\xff\x00garbage") else {
            panic!()
        };
        assert_eq!(uid, "");
        let Decoded::Answer(Early::Invalid { message, .. }) =
            decode(br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#)
        else {
            panic!()
        };
        assert!(message.contains("no request"), "{message}");
    }
}
