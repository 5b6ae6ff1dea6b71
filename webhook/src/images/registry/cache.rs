//! The image-config cache, on moka: keyed by (credential scope, reference, platform);
//! digest-pinned configs live long, tag-resolved ones briefly, failures very briefly. A tag past
//! its TTL is still served (stale-while-revalidate) while one background fetch refreshes it; a
//! refresh that fails for a transient reason keeps the stale config in service. Concurrent
//! lookups of one key share one fetch, which runs as its own task: a caller that gives up at its
//! deadline does not cancel it, and the fetch fills the cache for the next caller.
//!
//! Both maps are bounded moka caches: the entries (`--cache-capacity`, least recently used out
//! first) and the fetches in flight (the same bound; each lives at most the fetch bound).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt as _;
use futures::future::{BoxFuture, Shared};
use moka::Expiry;
use moka::policy::EvictionPolicy;

use super::keyring::Credential;
use super::metrics::RegistryMetrics;
use crate::images::{Lookup, LookupError, Platform};

/// What one fetch produced; a hit hands out the shared config.
pub type Outcome = Lookup;
type InFlight = Shared<BoxFuture<'static, Outcome>>;

/// One cache line's identity. The credential scope is the exact list of credentials the
/// lookup would use (empty: anonymous), so a config fetched with one namespace's secret is
/// only ever served to lookups holding that same secret.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    /// Credentials tried, in order.
    pub scope: Arc<[Credential]>,
    /// Normalized reference (`registry/repo:tag[@digest]`).
    pub reference: String,
    /// Platform the index was resolved to.
    pub platform: Platform,
}

/// Lifetimes of cache entries.
#[derive(Debug, Clone, Copy)]
pub struct Ttls {
    /// Configs looked up by tag.
    pub tag: Duration,
    /// Configs looked up by digest.
    pub digest: Duration,
    /// Failures.
    pub failure: Duration,
    /// How long past `tag` a config may still be served while it is refreshed.
    pub stale: Duration,
    /// Bound of one background fetch.
    pub fetch: Duration,
}

/// A stored outcome and its lifetimes (immutable: an update stores a new one).
#[derive(Debug)]
struct Entry {
    outcome: Outcome,
    fresh_until: Instant,
    stale_until: Instant,
    /// No background refresh before this instant (after a failed refresh).
    refresh_after: Instant,
}

/// moka drops an entry when it can no longer be served, stale or not.
struct UntilStale;

impl Expiry<CacheKey, Arc<Entry>> for UntilStale {
    fn expire_after_create(&self, _: &CacheKey, e: &Arc<Entry>, now: Instant) -> Option<Duration> {
        Some(e.stale_until.saturating_duration_since(now))
    }

    fn expire_after_update(
        &self,
        _: &CacheKey,
        e: &Arc<Entry>,
        now: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(e.stale_until.saturating_duration_since(now))
    }
}

/// The cache; share it as `Arc<Cache>`.
pub struct Cache {
    entries: moka::sync::Cache<CacheKey, Arc<Entry>>,
    inflight: moka::sync::Cache<CacheKey, InFlight>,
    ttls: Ttls,
    metrics: RegistryMetrics,
}

/// Failures that say nothing about the image (the registry was unreachable or slow): a stale
/// config stays in service when its refresh fails like this.
fn transient(e: &LookupError) -> bool {
    matches!(e, LookupError::Registry { .. } | LookupError::Timeout { .. })
}

impl Cache {
    /// An empty cache holding at most `capacity` keys.
    pub fn new(ttls: Ttls, capacity: usize, metrics: RegistryMetrics) -> Arc<Self> {
        let capacity = capacity.max(1) as u64;
        Arc::new(Cache {
            entries: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .eviction_policy(EvictionPolicy::lru())
                .expire_after(UntilStale)
                .build(),
            inflight: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttls.fetch + Duration::from_secs(1))
                .build(),
            ttls,
            metrics,
        })
    }

    /// The cached outcome for `key`, or the outcome of `fetch` (shared with every concurrent
    /// caller of the same key). `pinned`: the reference names a digest.
    pub async fn get<F, Fut>(self: &Arc<Self>, key: CacheKey, pinned: bool, fetch: F) -> Outcome
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Outcome> + Send + 'static,
    {
        let now = Instant::now();
        if let Some(e) = self.entries.get(&key) {
            if now < e.fresh_until {
                self.metrics.cache_result("hit");
                return e.outcome.clone();
            }
            if e.outcome.is_ok() && now < e.stale_until {
                if now >= e.refresh_after && self.running(&key).is_none() {
                    // The refresh runs as its own task; this caller does not wait for it.
                    drop(self.start(key, pinned, fetch));
                }
                self.metrics.cache_result("stale");
                return e.outcome.clone();
            }
        }
        let waiting = match self.running(&key) {
            Some(f) => {
                self.metrics.cache_result("coalesced");
                f
            }
            None => {
                self.metrics.cache_result("miss");
                self.start(key, pinned, fetch)
            }
        };
        waiting.await
    }

    /// The fetch in flight for `key`, unless it already finished (its result is stored).
    fn running(&self, key: &CacheKey) -> Option<InFlight> {
        let f = self.inflight.get(key)?;
        if f.peek().is_some() {
            self.inflight.invalidate(key);
            return None;
        }
        Some(f)
    }

    /// Starts `fetch` as its own task (bounded by the fetch TTL) and registers it; concurrent
    /// starters of one key end up sharing one task.
    fn start<F, Fut>(self: &Arc<Self>, key: CacheKey, pinned: bool, fetch: F) -> InFlight
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Outcome> + Send + 'static,
    {
        let entry = self
            .inflight
            .entry(key.clone())
            .or_insert_with(|| self.spawn(key, pinned, fetch()));
        entry.into_value()
    }

    fn spawn<Fut>(self: &Arc<Self>, key: CacheKey, pinned: bool, fut: Fut) -> InFlight
    where
        Fut: Future<Output = Outcome> + Send + 'static,
    {
        let cache = Arc::clone(self);
        let bound = self.ttls.fetch;
        let image = key.reference.clone();
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let outcome = tokio::time::timeout(bound, fut).await.unwrap_or_else(|_| {
                Err(LookupError::Timeout {
                    image: key.reference.clone(),
                    budget_ms: u64::try_from(bound.as_millis()).unwrap_or(u64::MAX),
                })
            });
            // Store first: whoever sees the fetch counted finds the cache filled.
            cache.store(&key, pinned, &outcome);
            cache.inflight.invalidate(&key);
            let label = crate::images::outcome_label(&outcome);
            cache.metrics.fetch(label, started.elapsed().as_secs_f64());
            outcome
        });
        async move {
            task.await.unwrap_or_else(|e| {
                Err(LookupError::Registry {
                    image,
                    reason: format!("lookup task failed: {e}"),
                })
            })
        }
        .boxed()
        .shared()
    }

    fn store(&self, key: &CacheKey, pinned: bool, outcome: &Outcome) {
        let now = Instant::now();
        let t = &self.ttls;
        let stale = self
            .entries
            .get(key)
            .filter(|e| e.outcome.is_ok() && now < e.stale_until);
        let entry = match (outcome, stale) {
            // The registry hiccuped: keep serving the stale config, retry after the failure TTL.
            (Err(e), Some(old)) if transient(e) => Entry {
                outcome: old.outcome.clone(),
                fresh_until: old.fresh_until,
                stale_until: old.stale_until,
                refresh_after: now + t.failure,
            },
            _ => {
                let (fresh, stale) = match outcome {
                    Ok(_) if pinned => (t.digest, Duration::ZERO),
                    Ok(_) => (t.tag, t.stale),
                    Err(_) => (t.failure, Duration::ZERO),
                };
                Entry {
                    outcome: outcome.clone(),
                    fresh_until: now + fresh,
                    stale_until: now + fresh + stale,
                    refresh_after: now,
                }
            }
        };
        self.entries.insert(key.clone(), Arc::new(entry));
    }

    /// Number of keys held, after moka's pending evictions ran (tests, benchmarks).
    pub fn len(&self) -> usize {
        self.entries.run_pending_tasks();
        self.entries.entry_count() as usize
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
