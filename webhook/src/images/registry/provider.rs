//! [`RegistryProvider`]: parse the reference, gather the pod's credentials, consult the cache,
//! and answer by the request's deadline no matter what the registry or the API server does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use oci_client::Reference;

use super::cache::{Cache, CacheKey, Outcome, Ttls};
use super::credentials::{self, CredentialSource};
use super::fetch::Fetcher;
use super::keyring::Credential;
use super::metrics::RegistryMetrics;
use crate::images::{ImageConfigProvider, Lookup, LookupError, LookupRequest, outcome_label};

/// Registry-backed image config provider.
pub struct RegistryProvider {
    credentials: Option<Arc<dyn CredentialSource>>,
    global_secret: Option<(String, String)>,
    fetcher: Arc<Fetcher>,
    cache: Arc<Cache>,
    metrics: RegistryMetrics,
    /// The credentials for one (namespace, service account, pull secrets, repository), reused
    /// for the credential TTL: a warm admission neither reads the API objects nor parses
    /// dockerconfigjson again. Answers with a failed API read are not kept. `None`: a zero
    /// credential TTL, every admission reads again.
    scopes: Option<moka::sync::Cache<ScopeKey, Arc<[Credential]>>>,
    /// The empty scope (anonymous), shared.
    anonymous: Arc<[Credential]>,
}

/// A parsed reference and the strings every lookup derives from it.
#[derive(Debug)]
struct Parsed {
    reference: Reference,
    /// `registry/repository`, what credentials are matched against.
    repo: String,
    /// The normalized reference, the cache key's.
    whole: String,
}

/// What a credential scope depends on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ScopeKey {
    namespace: String,
    service_account: String,
    pull_secrets: Vec<String>,
    repo: String,
}

fn parse(image: &str) -> Result<Arc<Parsed>, LookupError> {
    parse_reference(image).map(|reference| {
        Arc::new(Parsed {
            repo: format!("{}/{}", reference.registry(), reference.repository()),
            whole: reference.whole(),
            reference,
        })
    })
}

/// Parses `image` as the kubelet does: `busybox` → `docker.io/library/busybox:latest`,
/// registries with ports, tags, digests.
pub fn parse_reference(image: &str) -> Result<Reference, LookupError> {
    let invalid = |reason: String| LookupError::InvalidReference {
        image: image.into(),
        reason,
    };
    if image.trim() != image || image.is_empty() {
        return Err(invalid("empty or surrounded by whitespace".into()));
    }
    let reference = super::reference::parse(image).map_err(invalid)?;
    if reference.repository().chars().any(|c| c.is_ascii_uppercase()) {
        return Err(invalid("repository name must be lowercase".into()));
    }
    Ok(reference)
}

impl RegistryProvider {
    /// A provider reading credentials from `credentials` (`None`: anonymous only) and the
    /// optional global pull secret `(namespace, name)`; the credentials found for a pod and an
    /// image are reused for `credential_ttl`. Every memo holds at most `capacity` keys.
    pub fn new(
        fetcher: Fetcher,
        ttls: Ttls,
        capacity: usize,
        credentials: Option<Arc<dyn CredentialSource>>,
        global_secret: Option<(String, String)>,
        credential_ttl: Duration,
        metrics: RegistryMetrics,
    ) -> Self {
        fetcher.refill();
        let capacity = capacity.max(1) as u64;
        RegistryProvider {
            credentials,
            global_secret,
            fetcher: Arc::new(fetcher),
            cache: Cache::new(ttls, capacity as usize, metrics.clone()),
            metrics,
            scopes: (!credential_ttl.is_zero()).then(|| {
                moka::sync::Cache::builder()
                    .max_capacity(capacity)
                    .time_to_live(credential_ttl)
                    .build()
            }),
            anonymous: Arc::from([]),
        }
    }

    /// The metrics this provider records.
    pub fn metrics(&self) -> &RegistryMetrics {
        &self.metrics
    }

    /// Keys held by the image-config cache (tests, benchmarks).
    pub fn cached(&self) -> usize {
        self.cache.len()
    }

    /// The lookup without the deadline.
    async fn lookup(&self, req: &LookupRequest) -> Outcome {
        let parsed = parse(&req.image)?;
        let scope = self.scope(req, &parsed.repo).await;
        let pinned = parsed.reference.digest().is_some();
        let key = CacheKey {
            scope: Arc::clone(&scope),
            reference: parsed.whole.clone(),
            platform: req.platform.clone(),
        };
        let fetcher = Arc::clone(&self.fetcher);
        let (image, platform) = (req.image.clone(), req.platform.clone());
        let fetch = move || async move {
            fetcher
                .fetch(&image, &parsed.reference, &scope, &platform)
                .await
                .map(Arc::new)
        };
        self.cache.get(key, pinned, fetch).await
    }

    /// The credentials to try for `repo` (empty: anonymous), remembered per pod identity.
    async fn scope(&self, req: &LookupRequest, repo: &str) -> Arc<[Credential]> {
        let Some(source) = &self.credentials else {
            return Arc::clone(&self.anonymous);
        };
        let key = ScopeKey {
            namespace: req.namespace.clone(),
            service_account: req.service_account.clone(),
            pull_secrets: req.pull_secrets.clone(),
            repo: repo.to_string(),
        };
        if let Some(scope) = self.scopes.as_ref().and_then(|m| m.get(&key)) {
            return scope;
        }
        let (rings, complete) = source
            .keyrings_for(
                &req.namespace,
                &req.pull_secrets,
                &req.service_account,
                self.global_secret.as_ref(),
            )
            .await;
        let scope: Arc<[Credential]> = credentials::credentials_for(&rings, repo).into();
        if let (true, Some(memo)) = (complete, &self.scopes) {
            memo.insert(key, Arc::clone(&scope));
        }
        scope
    }
}

#[async_trait::async_trait]
impl ImageConfigProvider for RegistryProvider {
    async fn image_config(&self, req: &LookupRequest) -> Lookup {
        let budget = req.deadline.saturating_duration_since(Instant::now());
        let outcome = tokio::time::timeout_at(req.deadline.into(), self.lookup(req))
            .await
            .unwrap_or_else(|_| {
                Err(LookupError::Timeout {
                    image: req.image.clone(),
                    budget_ms: u64::try_from(budget.as_millis()).unwrap_or(u64::MAX),
                })
            });
        self.metrics.lookup(outcome_label(&outcome));
        match &outcome {
            Ok(c) => {
                tracing::debug!(image = %req.image, namespace = %req.namespace, digest = ?c.digest, "image config")
            }
            Err(e) => {
                tracing::info!(image = %req.image, namespace = %req.namespace, error = %e, "image lookup failed")
            }
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::parse_reference;

    #[test]
    fn references_normalize_like_the_kubelet() {
        let cases = [
            ("busybox", "docker.io", "library/busybox", Some("latest"), None),
            (
                "docker.io/library/busybox:1.36",
                "docker.io",
                "library/busybox",
                Some("1.36"),
                None,
            ),
            ("user/app", "docker.io", "user/app", Some("latest"), None),
            ("localhost/app", "localhost", "app", Some("latest"), None),
            (
                "localhost:5000/team/app:v1",
                "localhost:5000",
                "team/app",
                Some("v1"),
                None,
            ),
            ("reg.example/a/b/c:t", "reg.example", "a/b/c", Some("t"), None),
        ];
        for (image, registry, repo, tag, digest) in cases {
            let r = parse_reference(image).unwrap();
            assert_eq!(
                (r.registry(), r.repository(), r.tag(), r.digest()),
                (registry, repo, tag, digest),
                "{image}"
            );
        }
        let d = format!("sha256:{}", "a".repeat(64));
        let r = parse_reference(&format!("reg.example:443/app:v1@{d}")).unwrap();
        assert_eq!(
            (r.registry(), r.tag(), r.digest()),
            ("reg.example:443", Some("v1"), Some(d.as_str()))
        );
    }

    #[test]
    fn bad_references_are_rejected_before_any_request() {
        for bad in [
            "",
            " busybox",
            "busybox ",
            "Busy/Box",
            "app@sha256:abc",
            "a//b",
            "app:tag:tag",
        ] {
            assert!(parse_reference(bad).is_err(), "{bad:?}");
        }
    }
}
