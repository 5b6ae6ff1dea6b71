//! Runs a pod's image lookups in parallel under one deadline, whatever the provider does.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::future::join_all;

use super::{ImageConfigProvider, Lookup, LookupError, LookupRequest, Platform};

/// Lookup results by (image as written, platform).
pub type Resolved = BTreeMap<(String, String), Lookup>;

/// The key of [`Resolved`] for an image and a platform.
pub fn key(image: &str, platform: &Platform) -> (String, String) {
    (image.to_string(), platform.to_string())
}

/// The deadline for a request: the budget, capped at three quarters of the apiserver's
/// `?timeout=` so the answer still arrives in time.
pub fn budget(configured: Duration, request_timeout: Option<Duration>) -> Duration {
    match request_timeout {
        Some(t) => configured.min(t * 3 / 4),
        None => configured,
    }
}

/// Who asks: what decides which pull credentials apply.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    /// The pod's namespace.
    pub namespace: String,
    /// The pod's `imagePullSecrets` names.
    pub pull_secrets: Vec<String>,
    /// The pod's service account (`default` when unset).
    pub service_account: String,
}

/// Looks up every (image, platform) pair in parallel; each answer is cut off at `budget`
/// (a provider that does not answer in time gives [`LookupError::Timeout`]).
pub async fn resolve_all(
    provider: &dyn ImageConfigProvider,
    who: &Identity,
    wanted: &[(String, Platform)],
    budget: Duration,
) -> Resolved {
    let deadline = Instant::now() + budget;
    let lookups = wanted.iter().map(|(image, platform)| {
        let req = LookupRequest {
            image: image.clone(),
            namespace: who.namespace.clone(),
            pull_secrets: who.pull_secrets.clone(),
            service_account: who.service_account.clone(),
            platform: platform.clone(),
            deadline,
        };
        async move {
            let at = tokio::time::Instant::from_std(deadline);
            let res = tokio::time::timeout_at(at, provider.image_config(&req))
                .await
                .unwrap_or_else(|_| {
                    Err(LookupError::Timeout {
                        image: req.image.clone(),
                        budget_ms: u64::try_from(budget.as_millis()).unwrap_or(u64::MAX),
                    })
                });
            (key(&req.image, &req.platform), res)
        }
    });
    join_all(lookups).await.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::StaticProvider;

    #[test]
    fn budget_never_exceeds_the_request_timeout() {
        let two = Duration::from_secs(2);
        assert_eq!(budget(two, None), two);
        assert_eq!(budget(two, Some(Duration::from_secs(10))), two);
        assert_eq!(
            budget(two, Some(Duration::from_secs(1))),
            Duration::from_millis(750)
        );
    }

    #[tokio::test]
    async fn slow_providers_are_cut_off_at_the_budget() {
        let slow = StaticProvider::new()
            .with("a", Some(&["/a"]), None)
            .with_delay(Duration::from_secs(30));
        let want = vec![("a".to_string(), Platform::default())];
        let started = Instant::now();
        let got = resolve_all(&slow, &Identity::default(), &want, Duration::from_millis(50)).await;
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(matches!(
            got[&key("a", &Platform::default())],
            Err(LookupError::Timeout { budget_ms: 50, .. })
        ));
    }
}
