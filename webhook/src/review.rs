//! The AdmissionReview on the wire.
//!
//! Pod reviews are read into [`PodReviewIn`], a lean view of `kube::core::admission` (same field
//! types) without kube's `#[serde(flatten)]`: by `crate::fastjson` on the hot path, by serde when
//! that reader declines; anything else is read with kube's own types. Responses are written with our own struct
//! because kube-core 5's `AdmissionResponse` serializes `patch` as a JSON array of numbers
//! (kube-rs#1781), while the apiserver's `[]byte` field expects a base64 string.
//!
//! On the hot path the answer is written by [`ReviewOut::to_json`] with `crate::jsonw`: the
//! patch (the largest part, up to several KB) is base64-encoded straight into the body; a test
//! proves the bytes equal serde's rendering of the same struct.

use crate::jsonw;
use crate::patch::Patch;
use crate::podview::{Pod, Str};
use base64::Engine;
use kube::core::admission::Operation;
use serde::{Deserialize, Serialize};

/// An AdmissionReview whose object is a Pod (only the fields the webhook reads).
#[derive(Debug, PartialEq, Deserialize)]
pub struct PodReviewIn<'a> {
    /// The request; absent in a malformed review.
    pub request: Option<PodRequestIn<'a>>,
}

/// The fields of `AdmissionRequest` the webhook reads.
#[derive(Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodRequestIn<'a> {
    /// Echoed in the response.
    pub uid: Str<'a>,
    /// The object's kind.
    pub kind: KindIn<'a>,
    /// e.g. `status`, `ephemeralcontainers`.
    #[serde(default)]
    pub sub_resource: Option<Str<'a>>,
    /// The request's namespace.
    #[serde(default)]
    pub namespace: Option<Str<'a>>,
    /// CREATE, UPDATE, …
    pub operation: Operation,
    /// The pod.
    #[serde(default)]
    pub object: Option<Pod<'a>>,
}

/// `kind` of an `AdmissionRequest`: kube's `GroupVersionKind` (every field required), with
/// the view's strings.
#[derive(Debug, PartialEq, Deserialize)]
pub struct KindIn<'a> {
    /// e.g. `""` for the core group.
    pub group: Str<'a>,
    /// e.g. `v1`.
    pub version: Str<'a>,
    /// e.g. `Pod`.
    pub kind: Str<'a>,
}

/// `admission.k8s.io/v1` AdmissionReview carrying only a response.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewOut {
    /// Always `admission.k8s.io/v1`.
    pub api_version: &'static str,
    /// Always `AdmissionReview`.
    pub kind: &'static str,
    /// The answer.
    pub response: ResponseOut,
}

/// `AdmissionResponse` with a base64 `patch`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseOut {
    /// Copied from the request (empty when the request could not be read).
    pub uid: String,
    /// Whether the object is admitted.
    pub allowed: bool,
    /// Reason shown to the user when denied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusOut>,
    /// The JSON patch, sent as base64.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "base64_patch")]
    pub patch: Option<Patch>,
    /// `JSONPatch` when `patch` is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch_type: Option<&'static str>,
    /// Warnings for the requesting client.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The subset of `metav1.Status` the apiserver shows.
#[derive(Debug, Serialize)]
pub struct StatusOut {
    /// HTTP-like code (400 invalid, 403 denied).
    pub code: u16,
    /// Human-readable reason.
    pub message: String,
    /// `Failure`.
    pub status: &'static str,
    /// Machine-readable reason (`BadRequest`, `Forbidden`).
    pub reason: &'static str,
}

impl ResponseOut {
    /// Allowed, no patch.
    pub fn allow(uid: &str) -> Self {
        ResponseOut {
            uid: uid.into(),
            allowed: true,
            status: None,
            patch: None,
            patch_type: None,
            warnings: vec![],
        }
    }

    /// Allowed with a JSON patch (base64-encoded on the wire).
    pub fn patched(uid: &str, patch: Patch) -> Self {
        ResponseOut {
            patch: Some(patch),
            patch_type: Some("JSONPatch"),
            ..Self::allow(uid)
        }
    }

    /// Denied by policy (403).
    pub fn deny(uid: &str, message: String) -> Self {
        let status = StatusOut {
            code: 403,
            message,
            status: "Failure",
            reason: "Forbidden",
        };
        ResponseOut {
            allowed: false,
            status: Some(status),
            ..Self::allow(uid)
        }
    }

    /// The request could not be understood (400).
    pub fn invalid(uid: &str, message: String) -> Self {
        let status = StatusOut {
            code: 400,
            message,
            status: "Failure",
            reason: "BadRequest",
        };
        ResponseOut {
            allowed: false,
            status: Some(status),
            ..Self::allow(uid)
        }
    }

    /// Adds warnings.
    pub fn with_warnings(mut self, warnings: Vec<String>) -> Self {
        self.warnings = warnings;
        self
    }

    /// Wraps the response in an AdmissionReview.
    pub fn into_review(self) -> ReviewOut {
        ReviewOut {
            api_version: API_VERSION,
            kind: KIND,
            response: self,
        }
    }
}

/// The AdmissionReview this webhook answers with.
const API_VERSION: &str = "admission.k8s.io/v1";
const KIND: &str = "AdmissionReview";

impl ReviewOut {
    /// The JSON body, byte for byte what serde renders for this struct. The patch is
    /// base64-encoded straight into the body (standard base64 needs no JSON escaping).
    pub fn to_json(&self) -> Vec<u8> {
        let r = &self.response;
        let patch_len = r.patch.as_ref().map_or(0, Patch::base64_len);
        let mut out = Vec::with_capacity(256 + patch_len);
        if (self.api_version, self.kind) == (API_VERSION, KIND) {
            out.extend_from_slice(br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview""#);
        } else {
            out.extend_from_slice(br#"{"apiVersion":"#);
            jsonw::string(&mut out, self.api_version);
            out.extend_from_slice(br#","kind":"#);
            jsonw::string(&mut out, self.kind);
        }
        out.extend_from_slice(br#","response":{"uid":"#);
        jsonw::string(&mut out, &r.uid);
        out.extend_from_slice(if r.allowed {
            br#","allowed":true"#
        } else {
            br#","allowed":false"#
        });
        if let Some(status) = &r.status {
            out.extend_from_slice(br#","status":"#);
            serde_json::to_writer(&mut out, status).expect("a status always serializes");
        }
        if let Some(patch) = &r.patch {
            out.extend_from_slice(br#","patch":""#);
            patch.write_base64(&mut out);
            out.push(b'"');
        }
        match r.patch_type {
            Some("JSONPatch") => out.extend_from_slice(br#","patchType":"JSONPatch""#),
            Some(patch_type) => {
                out.extend_from_slice(br#","patchType":"#);
                jsonw::string(&mut out, patch_type);
            }
            None => {}
        }
        if !r.warnings.is_empty() {
            out.extend_from_slice(br#","warnings":"#);
            jsonw::strings(&mut out, &r.warnings);
        }
        out.extend_from_slice(b"}}");
        out
    }
}

fn base64_patch<S: serde::Serializer>(patch: &Option<Patch>, s: S) -> Result<S::Ok, S::Error> {
    let bytes = patch.as_ref().map_or(&[][..], Patch::json);
    s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use json_patch::Patch;
    use serde_json::json;

    #[test]
    fn patch_is_a_base64_string_on_the_wire() {
        let mut patch = crate::patch::PatchWriter::default();
        patch.add_json("/metadata/labels", "{}");
        let wire: Value =
            serde_json::from_slice(&ResponseOut::patched("u1", patch.finish()).into_review().to_json())
                .unwrap();
        let b64 = wire["response"]["patch"]
            .as_str()
            .expect("patch must be a string");
        let decoded = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
        let back: Value = serde_json::from_slice(&decoded).unwrap();
        assert_eq!(
            back,
            json!([{"op": "add", "path": "/metadata/labels", "value": {}}])
        );
        assert_eq!(wire["response"]["patchType"], "JSONPatch");
        assert_eq!(wire["apiVersion"], "admission.k8s.io/v1");
        assert_eq!(wire["kind"], "AdmissionReview");
        assert_eq!(wire["response"]["uid"], "u1");
        assert!(wire["response"].get("warnings").is_none());
    }

    #[test]
    fn kube_core_still_emits_a_number_array() {
        // Documents why this module exists; if kube-core fixes #1781 this test tells us.
        let resp = kube::core::admission::AdmissionResponse::invalid("x")
            .with_patch(Patch(vec![]))
            .unwrap();
        let wire = serde_json::to_value(&resp).unwrap();
        assert!(
            wire["patch"].is_array(),
            "kube-core now emits {:?}",
            wire["patch"]
        );
    }

    #[test]
    fn hand_written_body_is_what_serde_writes() {
        let mut patch = crate::patch::PatchWriter::default();
        patch.add(
            &crate::patch::pointer(&["metadata", "annotations", "a/b~c"]),
            |o| o.extend_from_slice(br#"{"k":"v \"quoted\" \u00e9\n","n":[1,2]}"#),
        );
        let patch = patch.finish();
        let tricky = "uid \"with\" \\ slashes \u{1}\t and \u{1F600}".to_string();
        let cases = [
            ResponseOut::allow("u1"),
            ResponseOut::allow(&tricky).with_warnings(vec![tricky.clone(), "w2".into()]),
            ResponseOut::patched("u2", patch.clone()),
            ResponseOut::patched("u3", crate::patch::PatchWriter::default().finish())
                .with_warnings(vec!["careful: \"x\"".into()]),
            ResponseOut::deny("u4", format!("denied: {tricky}")),
            ResponseOut::invalid("", "respawn: cannot read".into()),
        ];
        let mut odd = ResponseOut::patched("u5", patch.clone()).into_review();
        (odd.api_version, odd.kind, odd.response.patch_type) = ("v\"2", "Kind\n", Some("Other\\"));
        let reviews = cases.into_iter().map(ResponseOut::into_review).chain([odd]);
        for review in reviews {
            let serde = serde_json::to_vec(&review).unwrap();
            assert_eq!(
                String::from_utf8(review.to_json()).unwrap(),
                String::from_utf8(serde).unwrap()
            );
        }
    }

    use serde_json::Value;
}
