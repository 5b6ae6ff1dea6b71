//! Reading an AdmissionReview: serde_json into kube's `AdmissionReview<Pod>`; when that fails,
//! the same into `AdmissionReview<DynamicObject>` (a non-Pod kind, or a Pod too broken to read),
//! and when that fails too, just the request's uid, so the answer can still name the request.

use k8s_openapi::api::core::v1::Pod;
use kube::core::DynamicObject;
use kube::core::admission::{AdmissionRequest, AdmissionReview, Operation};

/// What a body turned out to be.
#[derive(Debug)]
pub enum Decoded {
    /// A Pod CREATE to decide on.
    Pod(Box<AdmissionRequest<Pod>>),
    /// Answered without a decision: admitted unchanged (other kinds, operations, subresources),
    /// or invalid.
    Answer(Early),
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
    let pod_error = match serde_json::from_slice::<AdmissionReview<Pod>>(body) {
        Ok(review) => match TryInto::<AdmissionRequest<Pod>>::try_into(review) {
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
fn typed(req: AdmissionRequest<Pod>) -> Decoded {
    if let Some(answer) = not_handled(
        &req.uid,
        &req.kind.group,
        &req.kind.kind,
        req.sub_resource.as_deref(),
        &req.operation,
    ) {
        return Decoded::Answer(answer);
    }
    if req.object.is_none() {
        return Decoded::Answer(Early::Invalid {
            uid: req.uid,
            message: "respawn: request has no object".into(),
        });
    }
    Decoded::Pod(Box::new(req))
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
