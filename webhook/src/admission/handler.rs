//! `POST /mutate`: body in, AdmissionReview out. Translation and orchestration only: decode →
//! plan → look up → decide → render → respond. A panic anywhere in that path is caught and still
//! answered with an AdmissionReview (by the lookup-failure policy), never a dropped connection.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::{body::Bytes, extract::RawQuery, extract::State, http::header};
use futures::FutureExt as _;
use k8s_openapi::api::core::v1::Pod;
use tracing::{debug, info, warn};

use super::decode::{Decoded, Early, PodRequest, decode, uid_of};
use super::respond::Answer;
use crate::decision::{self, Decision, FailurePolicy, Injection, Plan};
use crate::images::{self, ImageConfigProvider, lookup::Identity};
use crate::render;
use crate::server::metrics::Metrics;

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
    let answer = review(&st, timeout, &body).await;
    st.metrics.request(answer.label(), start.elapsed());
    ([(header::CONTENT_TYPE, "application/json")], answer.to_json())
}

/// The apiserver's `?timeout=10s` (Go duration syntax); anything unreadable or out of range
/// means "no timeout given".
fn timeout_param(query: &str) -> Option<Duration> {
    let value = query.split('&').find_map(|kv| kv.strip_prefix("timeout="))?;
    respawn_settings::duration(value).ok()
}

/// Answers one review body; a panic becomes an answer too.
pub async fn review(st: &AppState, timeout: Option<Duration>, body: &[u8]) -> Answer {
    match AssertUnwindSafe(answer(st, timeout, body)).catch_unwind().await {
        Ok(a) => a,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            tracing::error!(panic = %what, "the admission path panicked; answering by the lookup-failure policy");
            st.metrics.request("panic", Duration::ZERO);
            let uid = uid_of(body).unwrap_or_default();
            let message =
                format!("respawn: internal error while deciding on this pod ({what}); please report it");
            match st.injection.on_lookup_failure {
                FailurePolicy::Allow => Answer::Allow {
                    uid,
                    warnings: vec![format!("{message}; pod admitted without the supervisor")],
                },
                FailurePolicy::Deny => Answer::Deny {
                    uid,
                    message,
                    warnings: vec![],
                },
            }
        }
    }
}

async fn answer(st: &AppState, timeout: Option<Duration>, body: &[u8]) -> Answer {
    let req = match decode(body) {
        Decoded::Pod(req) => req,
        Decoded::Answer(Early::Ignore { uid, warnings }) => return Answer::Allow { uid, warnings },
        Decoded::Answer(Early::Invalid { uid, message }) => {
            debug!(%message, "invalid AdmissionReview");
            return Answer::Invalid { uid, message };
        }
    };
    let budget = images::budget(st.lookup_budget, timeout);
    let decision = decide(st, &req.pod, &req.namespace, budget).await;
    respond(st, *req, decision)
}

/// Plans, looks up what the plan needs, and decides.
pub async fn decide(st: &AppState, pod: &Pod, namespace: &str, budget: Duration) -> Decision {
    let plan = match decision::plan(pod, namespace, &st.injection) {
        Plan::Done(d) => return d,
        Plan::Lookup(p) => p,
    };
    let wanted = plan.wanted();
    let resolved = if wanted.is_empty() {
        Default::default()
    } else {
        images::resolve_all(st.provider.as_ref(), &identity(pod, namespace), &wanted, budget).await
    };
    for r in resolved.values() {
        st.metrics.lookup(r);
    }
    decision::decide(pod, &plan, &resolved, &st.injection)
}

/// Who the pod is, for its pull credentials.
fn identity(pod: &Pod, namespace: &str) -> Identity {
    let spec = pod.spec.as_ref();
    Identity {
        namespace: namespace.to_string(),
        pull_secrets: spec
            .and_then(|s| s.image_pull_secrets.as_ref())
            .map(|v| {
                v.iter()
                    .map(|r| r.name.clone())
                    .filter(|n| !n.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        service_account: spec
            .and_then(|s| s.service_account_name.clone())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "default".into()),
    }
}

fn respond(st: &AppState, req: PodRequest, d: Decision) -> Answer {
    let PodRequest { uid, namespace, pod } = req;
    let (namespace, pod) = (namespace.as_str(), &pod);
    let name = pod_name(pod);
    match d {
        Decision::Skip { reason, warnings } => {
            if reason == decision::SkipReason::LookupFailed {
                warn!(namespace, pod = %name, reason = reason.as_str(), ?warnings, "not injected");
            } else {
                debug!(namespace, pod = %name, reason = reason.as_str(), "skipped");
            }
            st.metrics.skipped(reason.as_str());
            Answer::Allow { uid, warnings }
        }
        Decision::Deny { message, warnings } => {
            warn!(namespace, pod = %name, %message, "denied");
            st.metrics.denied();
            Answer::Deny {
                uid,
                message,
                warnings,
            }
        }
        Decision::Inject(m) => {
            let containers: Vec<&str> = m.containers.iter().map(|w| w.name.as_str()).collect();
            info!(namespace, pod = %name, containers = %containers.join(","), "injected");
            st.metrics.injected();
            Answer::Patch {
                uid,
                patch: render::patch(pod, &m),
                warnings: m.warnings,
            }
        }
    }
}

/// `name`, or `generateName*` for pods a controller creates.
fn pod_name(pod: &Pod) -> String {
    match (&pod.metadata.name, &pod.metadata.generate_name) {
        (Some(n), _) => n.clone(),
        (None, Some(g)) => format!("{g}*"),
        (None, None) => "<unnamed>".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_query_never_panics() {
        assert_eq!(timeout_param("timeout=10s"), Some(Duration::from_secs(10)));
        assert_eq!(
            timeout_param("a=b&timeout=1500ms"),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(timeout_param("timeout=1m0s"), Some(Duration::from_secs(60)));
        assert_eq!(timeout_param("a=b"), None);
        // Both panicked the handler before (unchecked arithmetic on huge values).
        assert_eq!(timeout_param("timeout=99999999999999999999999h"), None);
        assert_eq!(timeout_param("timeout=10000000000000000000s"), None);
        assert_eq!(timeout_param("timeout=-1s"), None);
    }
}
