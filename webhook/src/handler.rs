//! `POST /mutate`: AdmissionReview in, AdmissionReview out. Translation only — the decision is
//! [`crate::mutate`]. Every readable request gets a review back (never a 5xx).

use std::{sync::Arc, time::Duration, time::Instant};

use crate::podview::Pod;
use axum::{body::Bytes, extract::RawQuery, extract::State, http::header};
use kube::core::{
    DynamicObject,
    admission::{AdmissionRequest, AdmissionReview, Operation},
};
use tracing::{debug, info, warn};

use crate::config::Injection;
use crate::fastjson;
use crate::image::ImageConfigProvider;
use crate::lookup;
use crate::metrics::Metrics;
use crate::mutate::{self, Outcome, Plan};
use crate::review::{PodReviewIn, ResponseOut};

/// What the handler needs, shared by all requests.
pub struct AppState {
    /// Injection settings.
    pub injection: Injection,
    /// `--lookup-budget`.
    pub lookup_budget: Duration,
    /// Image config source.
    pub provider: Arc<dyn ImageConfigProvider>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
}

/// The `POST /mutate` handler.
pub async fn mutate(
    State(st): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> ([(header::HeaderName, &'static str); 1], Vec<u8>) {
    let start = Instant::now();
    let timeout = query.as_deref().and_then(timeout_param);
    let (response, result) = review(&st, timeout, &body).await;
    st.metrics.request(result, start.elapsed());
    let json = response.into_review().to_json();
    ([(header::CONTENT_TYPE, "application/json")], json)
}

/// The apiserver's `?timeout=10s`.
fn timeout_param(query: &str) -> Option<Duration> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("timeout="))
        .and_then(lookup::parse_go_duration)
}

/// Reads the review and answers it; the second value is the `result` metric label.
///
/// Hot path: one pass of [`fastjson`] straight into the Pod review view; serde_json reads the
/// body only when that reader declines (anything unusual), and then gives the answer or the
/// precise error. Only when serde also fails is the body parsed again, untyped, to tell a
/// non-Pod kind or a broken Pod from an unreadable request.
async fn review(st: &AppState, timeout: Option<Duration>, body: &[u8]) -> (ResponseOut, &'static str) {
    // The view stays where it was read (it is large; it is not moved again).
    let review: PodReviewIn = match fastjson::pod_review(body) {
        Some(review) => {
            st.metrics.read_by(true);
            review
        }
        None => {
            st.metrics.read_by(false);
            debug!(
                bytes = body.len(),
                "the fast reader declined this body; reading it with serde_json"
            );
            match serde_json::from_slice(body) {
                Ok(review) => review,
                Err(pod_error) => return untyped(body, &pod_error),
            }
        }
    };
    let Some(req) = review.request.as_ref() else {
        return no_request();
    };
    let kind = (&*req.kind.group, &*req.kind.kind);
    if let Some(answer) = not_handled(&req.uid, kind, req.sub_resource.as_deref(), &req.operation) {
        return answer;
    }
    let uid = &*req.uid;
    let Some(pod) = req.object.as_ref() else {
        return (
            ResponseOut::invalid(uid, "respawn: request has no object".into()),
            "invalid",
        );
    };
    let namespace = req
        .namespace
        .clone()
        .or_else(|| pod.metadata.namespace.clone())
        .unwrap_or_else(|| "default".into());
    let budget = lookup::budget(st.lookup_budget, timeout);
    decide(st, uid, pod, &namespace, budget).await
}

/// The slow path for bodies that are not a Pod review.
fn untyped(body: &[u8], pod_error: &serde_json::Error) -> (ResponseOut, &'static str) {
    let review: AdmissionReview<DynamicObject> = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => {
            debug!(error = %e, "unreadable AdmissionReview");
            let msg = format!("respawn: cannot read AdmissionReview: {e}");
            return (ResponseOut::invalid("", msg), "invalid");
        }
    };
    let req: AdmissionRequest<DynamicObject> = match review.try_into() {
        Ok(r) => r,
        Err(_) => return no_request(),
    };
    let kind = (req.kind.group.as_str(), req.kind.kind.as_str());
    if let Some(answer) = not_handled(&req.uid, kind, req.sub_resource.as_deref(), &req.operation) {
        return answer;
    }
    let msg = format!("respawn: object is not a valid Pod: {pod_error}");
    (ResponseOut::invalid(&req.uid, msg), "invalid")
}

fn no_request() -> (ResponseOut, &'static str) {
    (
        ResponseOut::invalid("", "respawn: AdmissionReview has no request".into()),
        "invalid",
    )
}

/// Anything but `CREATE` of a Pod is admitted unchanged (non-Pod kinds with a warning).
fn not_handled(
    uid: &str,
    (group, kind): (&str, &str),
    sub_resource: Option<&str>,
    operation: &Operation,
) -> Option<(ResponseOut, &'static str)> {
    let is_pod = group.is_empty() && kind == "Pod" && sub_resource.is_none();
    if !is_pod {
        let why = format!("respawn: only pods are handled, ignoring {group}/{kind}");
        return Some((ResponseOut::allow(uid).with_warnings(vec![why]), "ignored"));
    }
    if !matches!(operation, Operation::Create) {
        return Some((ResponseOut::allow(uid), "ignored"));
    }
    None
}

async fn decide(
    st: &AppState,
    uid: &str,
    pod: &Pod<'_>,
    namespace: &str,
    budget: Duration,
) -> (ResponseOut, &'static str) {
    let name = PodName(pod);
    let plan = match mutate::plan(pod, namespace, &st.injection) {
        Plan::Skip { reason, warnings } => {
            debug!(namespace, pod = %name, reason = reason.as_str(), "skipped");
            st.metrics.skipped(reason.as_str());
            return (ResponseOut::allow(uid).with_warnings(warnings), "allowed");
        }
        Plan::Wrap(p) => p,
    };
    let resolved = if plan.lookups.is_empty() {
        Default::default()
    } else {
        lookup::resolve_all(
            st.provider.as_ref(),
            pod,
            namespace,
            &plan.lookups,
            &plan.platform,
            budget,
        )
        .await
    };
    for r in resolved.values() {
        st.metrics.lookup(r);
    }
    match mutate::apply(pod, &plan, &resolved, &st.injection) {
        Outcome::Patch {
            patch,
            wrapped,
            warnings,
        } => {
            // `message` as a `str` field: the line is the same, without `fmt::Arguments`.
            info!(message = "injected", namespace, pod = %name, containers = %Joined(&wrapped));
            st.metrics.injected();
            (
                ResponseOut::patched(uid, patch).with_warnings(warnings),
                "patched",
            )
        }
        Outcome::Unchanged { reason, warnings } => {
            warn!(namespace, pod = %name, reason = reason.as_str(), warnings = ?warnings, "not injected");
            st.metrics.skipped(reason.as_str());
            (ResponseOut::allow(uid).with_warnings(warnings), "allowed")
        }
        Outcome::Deny { message, warnings } => {
            warn!(namespace, pod = %name, %message, "denied");
            st.metrics.denied();
            (ResponseOut::deny(uid, message).with_warnings(warnings), "denied")
        }
    }
}

/// `name`, or `generateName*` for pods a controller creates (formatted only when logged).
struct PodName<'a>(&'a Pod<'a>);

impl std::fmt::Display for PodName<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.0.metadata.name, &self.0.metadata.generate_name) {
            (Some(n), _) => f.write_str(n),
            (None, Some(g)) => f.write_str(g).and(f.write_str("*")),
            (None, None) => f.write_str("<unnamed>"),
        }
    }
}

/// Names joined by `,` for the log (`web,sidecar`).
struct Joined<'a>(&'a [&'a str]);

impl std::fmt::Display for Joined<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(s)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_query() {
        assert_eq!(timeout_param("timeout=10s"), Some(Duration::from_secs(10)));
        assert_eq!(
            timeout_param("a=b&timeout=1500ms"),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(timeout_param("a=b"), None);
    }
}
