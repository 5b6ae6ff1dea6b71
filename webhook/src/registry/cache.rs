//! The image-config cache: keyed by (credential scope, reference, platform); digest-pinned
//! configs live long, tag-resolved ones briefly, failures very briefly. A tag past its TTL is
//! still served (stale-while-revalidate) while one background fetch refreshes it. Concurrent
//! lookups of one key share one fetch, which runs as its own task: a caller that gives up at its
//! deadline does not cancel it, so the next caller finds the cache filled.

use std::future::Future;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt as _;
use futures::future::{BoxFuture, Shared};

use super::keyring::Credential;
use super::metrics::RegistryMetrics;
use crate::image::{Lookup, LookupError, Platform};

/// What one fetch produced; a hit hands out the shared config.
pub type Outcome = Lookup;
type InFlight = Shared<BoxFuture<'static, Outcome>>;

/// One cache line's identity. The credential scope is the exact list of credentials the
/// lookup would use (empty: anonymous), so a config fetched with one namespace's secret is
/// only ever served to lookups holding that same secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheKey {
    /// Credentials tried, in order.
    pub scope: Vec<Credential>,
    /// Normalized reference (`registry/repo:tag[@digest]`).
    pub reference: String,
    /// Platform the index was resolved to.
    pub platform: Platform,
}

/// A [`CacheKey`] borrowed from the lookup: a warm hit is found without building (allocating)
/// the owned key, which is made only when a slot is created.
#[derive(Debug, Clone, Copy)]
pub struct KeyRef<'a> {
    /// Credentials tried, in order.
    pub scope: &'a [Credential],
    /// Normalized reference.
    pub reference: &'a str,
    /// Platform the index was resolved to.
    pub platform: &'a Platform,
}

impl KeyRef<'_> {
    fn to_key(self) -> CacheKey {
        CacheKey {
            scope: self.scope.to_vec(),
            reference: self.reference.to_string(),
            platform: self.platform.clone(),
        }
    }
}

/// What [`Cache::get`] accepts as a key: a [`CacheKey`] or a [`KeyRef`].
pub trait AsKey {
    /// The key, borrowed.
    fn key_ref(&self) -> KeyRef<'_>;
}

impl AsKey for CacheKey {
    fn key_ref(&self) -> KeyRef<'_> {
        KeyRef {
            scope: &self.scope,
            reference: &self.reference,
            platform: &self.platform,
        }
    }
}

impl AsKey for KeyRef<'_> {
    fn key_ref(&self) -> KeyRef<'_> {
        *self
    }
}

// One hash for both forms (the map finds owned keys by borrowed ones).
impl Hash for KeyRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.reference.hash(state);
        self.platform.hash(state);
        self.scope.hash(state);
    }
}

impl Hash for CacheKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key_ref().hash(state);
    }
}

impl hashbrown::Equivalent<CacheKey> for KeyRef<'_> {
    fn equivalent(&self, key: &CacheKey) -> bool {
        self.reference == key.reference && *self.platform == key.platform && *self.scope == key.scope[..]
    }
}

/// The slots, hashed with foldhash (randomly seeded per map): a fraction of SipHash's cost.
type Slots = hashbrown::HashMap<CacheKey, Slot>;

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

struct Entry {
    outcome: Outcome,
    fresh_until: Instant,
    stale_until: Instant,
    /// No background refresh before this instant (after a failed refresh).
    refresh_after: Instant,
}

#[derive(Default)]
struct Slot {
    entry: Option<Entry>,
    inflight: Option<InFlight>,
}

/// The cache; share it as `Arc<Cache>`.
pub struct Cache {
    slots: Mutex<Slots>,
    ttls: Ttls,
    capacity: usize,
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
        Arc::new(Cache {
            slots: Mutex::default(),
            ttls,
            capacity: capacity.max(1),
            metrics,
        })
    }

    /// The cached outcome for `key`, or the outcome of `fetch` (shared with every concurrent
    /// caller of the same key). `pinned`: the reference names a digest.
    pub async fn get<K, F, Fut>(self: &Arc<Self>, key: K, pinned: bool, fetch: F) -> Outcome
    where
        K: AsKey,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Outcome> + Send + 'static,
    {
        let now = Instant::now();
        let waiting = {
            let mut slots = self.slots.lock().expect("cache poisoned");
            let key = key.key_ref();
            // The common case, a fresh entry, without building the owned key.
            if let Some(Slot { entry: Some(e), .. }) = slots.get(&key) {
                if now < e.fresh_until {
                    self.metrics.cache_result("hit");
                    return e.outcome.clone();
                }
            }
            let key = key.to_key();
            let slot = slots.entry(key.clone()).or_default();
            if let Some(e) = &slot.entry {
                if now < e.fresh_until {
                    self.metrics.cache_result("hit");
                    return e.outcome.clone();
                }
                if e.outcome.is_ok() && now < e.stale_until {
                    let value = e.outcome.clone();
                    if slot.inflight.is_none() && now >= e.refresh_after {
                        slot.inflight = Some(self.spawn(key, pinned, fetch()));
                    }
                    self.metrics.cache_result("stale");
                    return value;
                }
            }
            match &slot.inflight {
                Some(f) => {
                    self.metrics.cache_result("coalesced");
                    f.clone()
                }
                None => {
                    self.metrics.cache_result("miss");
                    let f = self.spawn(key, pinned, fetch());
                    slot.inflight = Some(f.clone());
                    f
                }
            }
        };
        waiting.await
    }

    /// Runs `fut` as its own task (bounded by the fetch TTL), then stores what it produced.
    fn spawn<Fut>(self: &Arc<Self>, key: CacheKey, pinned: bool, fut: Fut) -> InFlight
    where
        Fut: Future<Output = Outcome> + Send + 'static,
    {
        let cache = Arc::clone(self);
        let bound = self.ttls.fetch;
        let image = key.reference.clone();
        let name = image.clone();
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let outcome = tokio::time::timeout(bound, fut).await.unwrap_or_else(|_| {
                Err(LookupError::Timeout {
                    image: image.clone(),
                    budget_ms: bound.as_millis() as u64,
                })
            });
            // Store first: whoever sees the fetch counted finds the cache filled.
            cache.store(key, pinned, &outcome);
            cache
                .metrics
                .fetch(outcome_label(&outcome), started.elapsed().as_secs_f64());
            outcome
        });
        async move {
            task.await.unwrap_or_else(|e| {
                Err(LookupError::Registry {
                    image: name,
                    reason: format!("lookup task failed: {e}"),
                })
            })
        }
        .boxed()
        .shared()
    }

    fn store(&self, key: CacheKey, pinned: bool, outcome: &Outcome) {
        let now = Instant::now();
        let t = &self.ttls;
        let mut slots = self.slots.lock().expect("cache poisoned");
        let slot = slots.entry(key).or_default();
        slot.inflight = None;
        let keep_stale = outcome.as_ref().is_err_and(transient)
            && slot
                .entry
                .as_ref()
                .is_some_and(|e| e.outcome.is_ok() && now < e.stale_until);
        if keep_stale {
            if let Some(e) = slot.entry.as_mut() {
                e.refresh_after = now + t.failure;
            }
        } else {
            let (fresh, stale) = match outcome {
                Ok(_) if pinned => (t.digest, Duration::ZERO),
                Ok(_) => (t.tag, t.stale),
                Err(_) => (t.failure, Duration::ZERO),
            };
            slot.entry = Some(Entry {
                outcome: outcome.clone(),
                fresh_until: now + fresh,
                stale_until: now + fresh + stale,
                refresh_after: now,
            });
        }
        if slots.len() > self.capacity {
            evict(&mut slots, self.capacity, now);
        }
    }

    /// Number of keys held (tests).
    pub fn len(&self) -> usize {
        self.slots.lock().expect("cache poisoned").len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Drops dead entries, then the ones closest to expiry, until `capacity` is met; never a key
/// with a fetch in flight.
fn evict(slots: &mut Slots, capacity: usize, now: Instant) {
    slots.retain(|_, s| s.inflight.is_some() || s.entry.as_ref().is_some_and(|e| now < e.stale_until));
    if slots.len() <= capacity {
        return;
    }
    let mut idle: Vec<(Instant, CacheKey)> = slots
        .iter()
        .filter(|(_, s)| s.inflight.is_none())
        .filter_map(|(k, s)| s.entry.as_ref().map(|e| (e.stale_until, k.clone())))
        .collect();
    idle.sort_by_key(|(at, _)| *at);
    let excess = slots.len() - capacity;
    for (_, k) in idle.into_iter().take(excess) {
        slots.remove(&k);
    }
}

pub use crate::image::outcome_label;

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
