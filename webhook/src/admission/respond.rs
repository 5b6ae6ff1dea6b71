//! Writing the answer: kube's `AdmissionResponse` wrapped in an `admission.k8s.io/v1`
//! AdmissionReview. One departure from kube-core's serialization: kube-core 5 writes `patch` as a
//! JSON array of numbers (kube-rs#1781); we send it as a base64 string, the documented wire form
//! of the Go `[]byte` field and a third of the size (kube-apiserver 1.36 reads both; the e2e
//! suite pins both). See docs/decisions.md.

use base64::Engine as _;
use kube::core::Status;
use kube::core::admission::AdmissionResponse;

/// What to answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Admit unchanged.
    Allow {
        /// The request's uid.
        uid: String,
        /// Warnings for the user.
        warnings: Vec<String>,
    },
    /// Admit with a patch.
    Patch {
        /// The request's uid.
        uid: String,
        /// The JSON Patch.
        patch: json_patch::Patch,
        /// Warnings for the user.
        warnings: Vec<String>,
    },
    /// Reject (403, Forbidden).
    Deny {
        /// The request's uid.
        uid: String,
        /// Why, for the user.
        message: String,
        /// Warnings for the user.
        warnings: Vec<String>,
    },
    /// The request was not a readable Pod review (400, BadRequest).
    Invalid {
        /// The request's uid when it could be read, else empty.
        uid: String,
        /// What is wrong.
        message: String,
    },
}

impl Answer {
    /// The `result` label of the request metric.
    pub fn label(&self) -> &'static str {
        match self {
            Answer::Allow { .. } => "allowed",
            Answer::Patch { .. } => "patched",
            Answer::Deny { .. } => "denied",
            Answer::Invalid { .. } => "invalid",
        }
    }

    /// kube's response for this answer.
    pub fn response(self) -> AdmissionResponse {
        // `invalid` is the one constructor that needs no request; it sets the v1 types.
        let mut r = AdmissionResponse::invalid("");
        let with_warnings = |w: Vec<String>| (!w.is_empty()).then_some(w);
        match self {
            Answer::Allow { uid, warnings } => {
                (r.uid, r.allowed, r.result) = (uid, true, Status::default());
                r.warnings = with_warnings(warnings);
            }
            Answer::Patch { uid, patch, warnings } => {
                (r.uid, r.allowed, r.result) = (uid, true, Status::default());
                r.warnings = with_warnings(warnings);
                r = r.with_patch(patch).expect("a JSON Patch always serializes");
            }
            Answer::Deny {
                uid,
                message,
                warnings,
            } => {
                r.uid = uid;
                r.result = Status::failure(&message, "Forbidden").with_code(403);
                r.warnings = with_warnings(warnings);
            }
            Answer::Invalid { uid, message } => {
                r.uid = uid;
                r.result = Status::failure(&message, "BadRequest").with_code(400);
            }
        }
        r
    }

    /// The AdmissionReview body. kube-core serializes `patch` as a number array; the patch bytes
    /// are taken out first and written as base64, so they never become JSON numbers.
    pub fn to_json(self) -> Vec<u8> {
        let mut response = self.response();
        let patch = response.patch.take();
        let mut review = serde_json::to_value(response.into_review()).expect("a review always serializes");
        if let Some(bytes) = patch {
            review["response"]["patch"] = base64::engine::general_purpose::STANDARD.encode(bytes).into();
        }
        serde_json::to_vec(&review).expect("a review always serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn wire(a: Answer) -> Value {
        serde_json::from_slice(&a.to_json()).unwrap()
    }

    #[test]
    fn patch_is_a_base64_string_on_the_wire() {
        let patch: json_patch::Patch =
            serde_json::from_value(json!([{"op": "add", "path": "/metadata/labels", "value": {}}])).unwrap();
        let w = wire(Answer::Patch {
            uid: "u1".into(),
            patch,
            warnings: vec![],
        });
        let b64 = w["response"]["patch"].as_str().expect("patch must be a string");
        let decoded = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
        let back: Value = serde_json::from_slice(&decoded).unwrap();
        assert_eq!(
            back,
            json!([{"op": "add", "path": "/metadata/labels", "value": {}}])
        );
        assert_eq!(w["response"]["patchType"], "JSONPatch");
        assert_eq!(w["apiVersion"], "admission.k8s.io/v1");
        assert_eq!(w["kind"], "AdmissionReview");
        assert_eq!(w["response"]["uid"], "u1");
        assert_eq!(w["response"]["allowed"], true);
        assert!(w["response"].get("warnings").is_none());
    }

    #[test]
    fn kube_core_still_emits_a_number_array() {
        // Why `to_json` rewrites the patch; if kube-core fixes #1781 this test tells us.
        let resp = AdmissionResponse::invalid("x")
            .with_patch(json_patch::Patch(vec![]))
            .unwrap();
        let w = serde_json::to_value(&resp).unwrap();
        assert!(w["patch"].is_array(), "kube-core now emits {:?}", w["patch"]);
    }

    #[test]
    fn denials_and_invalid_requests_carry_code_reason_and_message() {
        let w = wire(Answer::Deny {
            uid: "u2".into(),
            message: "no \"image\"".into(),
            warnings: vec!["w".into()],
        });
        let r = &w["response"];
        assert_eq!(
            (r["allowed"].clone(), r["status"]["code"].clone()),
            (json!(false), json!(403))
        );
        assert_eq!(r["status"]["message"], "no \"image\"");
        assert_eq!(r["status"]["reason"], "Forbidden");
        assert_eq!(r["warnings"], json!(["w"]));
        let w = wire(Answer::Invalid {
            uid: String::new(),
            message: "bad".into(),
        });
        assert_eq!(w["response"]["status"]["code"], 400);
        assert_eq!(w["response"]["uid"], "");
        assert_eq!(w["apiVersion"], "admission.k8s.io/v1");
    }
}
