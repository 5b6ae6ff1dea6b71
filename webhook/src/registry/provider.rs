//! [`RegistryProvider`]: parse the reference, gather the pod's credentials, consult the cache,
//! and answer by the request's deadline no matter what the registry or the API server does.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use oci_client::Reference;

use super::cache::{Cache, KeyRef, Outcome, Ttls, outcome_label};
use super::credentials::{self, CredentialSource, ScopeMemo, ScopeRef};
use super::fetch::Fetcher;
use super::keyring::Credential;
use super::metrics::RegistryMetrics;
use crate::image::{ImageConfigProvider, Lookup, LookupError, LookupRequest, Platform};

/// Registry-backed image config provider.
pub struct RegistryProvider {
    credentials: Option<Arc<dyn CredentialSource>>,
    global_secret: Option<(String, String)>,
    fetcher: Arc<Fetcher>,
    cache: Arc<Cache>,
    metrics: RegistryMetrics,
    references: ReferenceMemo,
    scopes: ScopeMemo,
    /// The empty scope (anonymous), shared.
    anonymous: Arc<[Credential]>,
}

/// Parsed references by image string. The reference grammar is a regex whose match costs
/// ≈ 100 k instructions — more than the whole rest of an admission — and a cluster uses a
/// bounded set of image strings, so each is parsed once (the memo is emptied when full).
struct ReferenceMemo {
    parsed: Mutex<hashbrown::HashMap<String, Result<Arc<Parsed>, LookupError>>>,
    capacity: usize,
}

/// A parsed reference and the strings every lookup derives from it.
struct Parsed {
    reference: Reference,
    /// `registry/repository`, what credentials are matched against.
    repo: String,
    /// The normalized reference, the cache key's.
    whole: String,
}

impl ReferenceMemo {
    fn new(capacity: usize) -> Self {
        ReferenceMemo {
            parsed: Mutex::default(),
            capacity: capacity.max(1),
        }
    }

    /// [`parse_reference`], remembered.
    fn get(&self, image: &str) -> Result<Arc<Parsed>, LookupError> {
        if let Some(known) = self.parsed.lock().expect("reference memo poisoned").get(image) {
            return known.clone();
        }
        let parsed = parse_reference(image).map(|reference| {
            Arc::new(Parsed {
                repo: format!("{}/{}", reference.registry(), reference.repository()),
                whole: reference.whole(),
                reference,
            })
        });
        let mut memo = self.parsed.lock().expect("reference memo poisoned");
        if memo.len() >= self.capacity {
            memo.clear();
        }
        memo.insert(image.to_string(), parsed.clone());
        parsed
    }
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
    let reference = Reference::try_from(image).map_err(|e| invalid(e.to_string()))?;
    if reference.repository().chars().any(|c| c.is_ascii_uppercase()) {
        return Err(invalid("repository name must be lowercase".into()));
    }
    Ok(reference)
}

impl RegistryProvider {
    /// A provider reading credentials from `credentials` (`None`: anonymous only) and the
    /// optional global pull secret `(namespace, name)`; the credentials found for a pod and an
    /// image are reused for `credential_ttl`.
    pub fn new(
        fetcher: Fetcher,
        ttls: Ttls,
        capacity: usize,
        credentials: Option<Arc<dyn CredentialSource>>,
        global_secret: Option<(String, String)>,
        credential_ttl: std::time::Duration,
        metrics: RegistryMetrics,
    ) -> Self {
        fetcher.refill();
        // The reference grammar is a large regex compiled on first use (~0.4 s in a debug
        // build): pay that at start-up, not in the first admission.
        let _ = parse_reference("docker.io/library/busybox:latest");
        RegistryProvider {
            credentials,
            global_secret,
            fetcher: Arc::new(fetcher),
            cache: Cache::new(ttls, capacity, metrics.clone()),
            metrics,
            references: ReferenceMemo::new(capacity),
            scopes: ScopeMemo::new(credential_ttl, capacity),
            anonymous: Arc::from([]),
        }
    }

    /// The metrics this provider records.
    pub fn metrics(&self) -> &RegistryMetrics {
        &self.metrics
    }

    /// The lookup without the deadline.
    async fn lookup(&self, req: &LookupRequest<'_>) -> Outcome {
        let parsed = self.references.get(&req.image)?;
        let scope = self.scope(req, &parsed.repo).await;
        let key = KeyRef {
            scope: &scope,
            reference: &parsed.whole,
            platform: &req.platform,
        };
        let pinned = parsed.reference.digest().is_some();
        // Owned copies for the fetch task, made only on a miss.
        let fetch = || {
            let fetcher = Arc::clone(&self.fetcher);
            let (image, platform) = (req.image.to_string(), Platform::clone(&req.platform));
            let (parsed, scope) = (Arc::clone(&parsed), Arc::clone(&scope));
            async move {
                fetcher
                    .fetch(&image, &parsed.reference, &scope, &platform)
                    .await
                    .map(Arc::new)
            }
        };
        self.cache.get(key, pinned, fetch).await
    }

    /// The credentials to try for `repo` (empty: anonymous), remembered per pod identity.
    async fn scope(&self, req: &LookupRequest<'_>, repo: &str) -> Arc<[Credential]> {
        let Some(source) = &self.credentials else {
            return Arc::clone(&self.anonymous);
        };
        let key = ScopeRef {
            namespace: &req.namespace,
            service_account: &req.service_account,
            pull_secrets: &req.pull_secrets,
            repo,
        };
        if let Some(scope) = self.scopes.get(key) {
            return scope;
        }
        let (rings, complete) = credentials::keyrings(
            source.as_ref(),
            &req.namespace,
            &req.pull_secrets,
            &req.service_account,
            self.global_secret.as_ref(),
        )
        .await;
        let scope: Arc<[Credential]> = credentials::credentials_for(&rings, repo).into();
        if complete {
            self.scopes.put(key, Arc::clone(&scope));
        }
        scope
    }
}

#[async_trait::async_trait]
impl ImageConfigProvider for RegistryProvider {
    async fn image_config(&self, req: &LookupRequest<'_>) -> Lookup {
        let budget = req.deadline.saturating_duration_since(Instant::now());
        let outcome = crate::lookup::by_deadline(req.deadline.into(), self.lookup(req))
            .await
            .unwrap_or_else(|_| {
                Err(LookupError::Timeout {
                    image: req.image.to_string(),
                    budget_ms: budget.as_millis() as u64,
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
    use super::{ReferenceMemo, parse_reference};

    #[test]
    fn the_reference_memo_answers_like_the_parser_and_stays_bounded() {
        let memo = ReferenceMemo::new(2);
        for image in [
            "busybox",
            "registry.local:5000/team/app:v1",
            " bad",
            "UPPER/case",
            "busybox",
        ] {
            let (a, b) = (memo.get(image), parse_reference(image));
            assert_eq!(
                a.as_ref().map(|p| p.whole.clone()),
                b.as_ref().map(|r| r.whole()),
                "{image}"
            );
            if let (Ok(p), Ok(r)) = (&a, &b) {
                assert_eq!(p.repo, format!("{}/{}", r.registry(), r.repository()));
            }
            assert_eq!(a.err(), b.err(), "{image}");
            assert!(memo.parsed.lock().unwrap().len() <= 2);
        }
    }

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
