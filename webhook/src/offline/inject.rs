//! The offline injection of one input set: every document's pod (template) goes through the
//! webhook's own orchestration — `admission::decide` (plan → image lookups → decide) and
//! `render::patch` — and the JSON Patch is applied to the pod template as written. Nothing is
//! decided here that the webhook decides; this file only finds pods, applies the opt-in the
//! webhook configuration would, and collects reports and errors.

use std::sync::Arc;

use futures::{StreamExt as _, stream};
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use super::select::{NotSelected, Selection};
use super::{Document, InjectError, Input, Location, Outcome, Report, input, kinds};
use crate::admission::{self, AppState};
use crate::decision::{Decision, SkipReason, annotations::INJECT_LABEL};
use crate::render;

/// Documents processed at once (their lookups overlap; the cache coalesces equal images).
const PARALLEL: usize = 8;

/// Injects documents the way the webhook admits pods.
pub struct Injector {
    /// The webhook's state: injection settings, image provider, metrics.
    pub state: Arc<AppState>,
    /// The offline opt-in.
    pub selection: Selection,
    /// Namespace of documents that name none.
    pub namespace: String,
}

/// The result of a whole run: the documents (changed in place) and what happened to each pod.
#[derive(Debug)]
pub struct Injected {
    /// Every document, in input order.
    pub documents: Vec<Document>,
    /// One report per pod (template) found.
    pub reports: Vec<Report>,
}

impl Injector {
    /// Parses and injects every input. Any error (unreadable document, invalid pod template,
    /// a denial) fails the whole run, with every error found.
    pub async fn run(&self, inputs: &[Input]) -> Result<Injected, Vec<InjectError>> {
        let mut errors = Vec::new();
        let mut docs = Vec::new();
        for i in inputs {
            match input::documents(i) {
                Ok(d) => docs.extend(d),
                Err(e) => errors.push(e),
            }
        }
        let mut selection = self.selection.clone();
        selection.add_namespace_documents(&docs);
        let selection = &selection;
        let results: Vec<(Document, Walked)> = stream::iter(docs)
            .map(|mut doc| async move {
                let mut reports = Vec::new();
                let mut errors = Vec::new();
                let at = doc.at.clone();
                self.walk(selection, &at, &mut doc.value, &mut reports, &mut errors)
                    .await;
                let r = if errors.is_empty() {
                    Ok(reports)
                } else {
                    Err(errors)
                };
                (doc, r)
            })
            .buffered(PARALLEL)
            .collect()
            .await;
        let mut documents = Vec::with_capacity(results.len());
        let mut reports = Vec::new();
        for (doc, r) in results {
            match r {
                Ok(rs) => reports.extend(rs),
                Err(es) => errors.extend(es),
            }
            documents.push(doc);
        }
        if errors.is_empty() {
            Ok(Injected { documents, reports })
        } else {
            Err(errors)
        }
    }

    /// One document, or each item of a List (recursively).
    async fn walk(
        &self,
        selection: &Selection,
        at: &Location,
        doc: &mut Value,
        reports: &mut Vec<Report>,
        errors: &mut Vec<InjectError>,
    ) {
        if let Some(items) = kinds::list_items(doc) {
            for (i, item) in items.iter_mut().enumerate() {
                let at = at.item(i + 1);
                Box::pin(self.walk(selection, &at, item, reports, errors)).await;
            }
            return;
        }
        let Some(path) = kinds::pod_path(doc) else {
            return;
        };
        let object = kinds::describe(doc);
        let namespace = doc
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .unwrap_or(&self.namespace)
            .to_string();
        let Some(template) = kinds::at_mut(doc, path) else {
            errors.push(InjectError::Invalid {
                at: at.clone(),
                object,
                reason: format!("no pod template at .{}", path.join(".")),
            });
            return;
        };
        match self.template(selection, template, &namespace).await {
            Ok(outcome) => reports.push(Report {
                at: at.clone(),
                object,
                outcome,
            }),
            Err(reason) => errors.push(match reason {
                Failure::Invalid(reason) => InjectError::Invalid {
                    at: at.clone(),
                    object,
                    reason,
                },
                Failure::Denied(message) => InjectError::Denied {
                    at: at.clone(),
                    object,
                    message,
                },
            }),
        }
    }

    /// Decides on one pod template and, when the webhook would inject it, patches it in place.
    async fn template(
        &self,
        selection: &Selection,
        template: &mut Value,
        namespace: &str,
    ) -> Result<Outcome, Failure> {
        let label = template
            .pointer(&format!("/metadata/labels/{}", INJECT_LABEL.replace('/', "~1")))
            .and_then(Value::as_str);
        if let Err(why) = selection.selects(label, namespace) {
            let why = match why {
                NotSelected::OptedOut => format!("opted out ({INJECT_LABEL}=disabled)"),
                NotSelected::NotOptedIn => format!(
                    "not opted in: no {INJECT_LABEL}=enabled label, namespace {namespace} not enabled \
                     (--enabled-namespace, a Namespace document labelled {INJECT_LABEL}=enabled, or --all)"
                ),
            };
            return Ok(Outcome::Unchanged {
                why,
                warnings: vec![],
            });
        }
        let mut pod = as_pod(template).map_err(Failure::Invalid)?;
        apiserver_defaults(&mut pod);
        match admission::decide(&self.state, &pod, namespace, self.state.lookup_budget).await {
            Decision::Skip { reason, warnings } => Ok(Outcome::Unchanged {
                why: skip_text(reason, namespace),
                warnings: warnings.into_iter().map(offline_wording).collect(),
            }),
            Decision::Deny { message, .. } => Err(Failure::Denied(message)),
            Decision::Inject(m) => {
                let patch = render::patch(&pod, &m);
                if !template.get("metadata").is_some_and(Value::is_object) {
                    template["metadata"] = json!({});
                }
                json_patch::patch(template, &patch)
                    .map_err(|e| Failure::Invalid(format!("the webhook's patch does not apply: {e}")))?;
                Ok(Outcome::Injected {
                    containers: m.containers.iter().map(|w| w.name.clone()).collect(),
                    warnings: m.warnings,
                })
            }
        }
    }
}

/// One document's reports, or its errors.
type Walked = Result<Vec<Report>, Vec<InjectError>>;

enum Failure {
    Invalid(String),
    Denied(String),
}

/// The pod a template becomes: its `metadata` and `spec` as a k8s-openapi Pod.
fn as_pod(template: &Value) -> Result<Pod, String> {
    let pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": template.get("metadata").filter(|m| !m.is_null()).cloned().unwrap_or(json!({})),
        "spec": template.get("spec"),
    });
    serde_json::from_value(pod).map_err(|e| format!("not a valid pod (template): {e}"))
}

/// What the apiserver does to a pod before a mutating webhook sees it, where the decision reads
/// it: a container with limits but no request for a resource gets the limit as its request
/// (pods only, not templates — so the webhook sees it, the template does not). The QoS class,
/// and so the installer's resources, depend on it.
pub fn apiserver_defaults(pod: &mut Pod) {
    let Some(spec) = pod.spec.as_mut() else {
        return;
    };
    let all = spec
        .containers
        .iter_mut()
        .chain(spec.init_containers.iter_mut().flatten());
    for c in all {
        let Some(res) = c.resources.as_mut() else {
            continue;
        };
        let Some(limits) = res.limits.as_ref() else {
            continue;
        };
        let requests = res.requests.get_or_insert_with(Default::default);
        for (name, q) in limits {
            requests.entry(name.clone()).or_insert_with(|| q.clone());
        }
    }
}

fn skip_text(reason: SkipReason, namespace: &str) -> String {
    match reason {
        SkipReason::ExcludedNamespace => {
            format!(
                "namespace {namespace} is never injected (system, --exclude-namespace or the webhook's own)"
            )
        }
        SkipReason::Disabled => format!("not injected ({INJECT_LABEL} is neither enabled nor disabled)"),
        SkipReason::AlreadyInjected => "already injected".into(),
        SkipReason::Windows => "Windows pods are not supported".into(),
        SkipReason::NoContainers => "no container to wrap".into(),
        SkipReason::LookupFailed => "image lookup failed (--on-lookup-failure allow)".into(),
    }
}

/// The webhook's warnings say "pod admitted"; offline nothing is admitted, the document is
/// written unchanged.
fn offline_wording(w: String) -> String {
    match w.strip_suffix("; pod admitted without the supervisor") {
        Some(head) => format!("{head}; left unchanged"),
        None => w,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_become_requests_where_requests_are_missing() {
        let mut pod: Pod = serde_json::from_value(json!({"spec": {"containers": [
            {"name": "a", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m"}}},
            {"name": "b", "resources": {"limits": {"memory": "64Mi"}}},
            {"name": "c"}
        ]}}))
        .unwrap();
        apiserver_defaults(&mut pod);
        let v = serde_json::to_value(&pod).unwrap();
        assert_eq!(
            v["spec"]["containers"][0]["resources"]["requests"],
            json!({"cpu": "500m", "memory": "1Gi"})
        );
        assert_eq!(
            v["spec"]["containers"][1]["resources"]["requests"],
            json!({"memory": "64Mi"})
        );
        assert!(v["spec"]["containers"][2].get("resources").is_none());
    }

    #[test]
    fn lookup_warnings_read_offline() {
        assert_eq!(
            offline_wording("respawn: cannot wrap x; pod admitted without the supervisor".into()),
            "respawn: cannot wrap x; left unchanged"
        );
        assert_eq!(offline_wording("other".into()), "other");
    }
}
