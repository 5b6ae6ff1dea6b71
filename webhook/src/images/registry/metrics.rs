//! Prometheus metrics of the registry lookup path: lookups by outcome, cache results, and the
//! latency of registry round trips. The webhook's metrics module registers them with
//! [`RegistryMetrics::register`].

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Label set with a single `outcome` (or `result`) value.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    /// e.g. `ok`, `not_found`, `timeout`.
    pub outcome: String,
}

/// Label set of the cache counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheLabel {
    /// `hit`, `stale`, `miss` or `coalesced`.
    pub result: String,
}

/// Metrics of the registry-backed provider; cheap to clone (shared handles).
#[derive(Clone, Debug)]
pub struct RegistryMetrics {
    /// `lookups{outcome="ok"}` and `cache{result="hit"}`, resolved once: what a warm admission
    /// counts, without building a label, hashing it and taking the family's lock.
    hot: [Counter; 2],
    /// `respawn_image_lookups_total{outcome}`: every answered lookup.
    pub lookups: Family<OutcomeLabel, Counter>,
    /// `respawn_image_cache_total{result}`: how each lookup was served.
    pub cache: Family<CacheLabel, Counter>,
    /// `respawn_registry_fetches_total{outcome}`: registry round trips (one per cache fill).
    pub fetches: Family<OutcomeLabel, Counter>,
    /// `respawn_registry_fetch_duration_seconds`: latency of one fill (manifest(s) + config).
    pub fetch_duration: Histogram,
}

impl Default for RegistryMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl RegistryMetrics {
    /// Fresh, unregistered metrics.
    pub fn new() -> Self {
        let buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
        let (lookups, cache) = (Family::default(), Family::default());
        let hot = [
            Family::<OutcomeLabel, Counter>::get_or_create(&lookups, &OutcomeLabel { outcome: "ok".into() })
                .clone(),
            Family::<CacheLabel, Counter>::get_or_create(&cache, &CacheLabel { result: "hit".into() })
                .clone(),
        ];
        RegistryMetrics {
            hot,
            lookups,
            cache,
            fetches: Family::default(),
            fetch_duration: Histogram::new(buckets),
        }
    }

    /// Registers every metric under its `respawn_` name.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "respawn_image_lookups",
            "Image config lookups by outcome",
            self.lookups.clone(),
        );
        registry.register(
            "respawn_image_cache",
            "Image config lookups by cache result (hit, stale, miss, coalesced)",
            self.cache.clone(),
        );
        registry.register(
            "respawn_registry_fetches",
            "Registry round trips (manifest(s) + config blob) by outcome",
            self.fetches.clone(),
        );
        registry.register(
            "respawn_registry_fetch_duration_seconds",
            "Latency of one registry fetch (manifest(s) + config blob)",
            self.fetch_duration.clone(),
        );
    }

    /// Counts one answered lookup.
    pub fn lookup(&self, outcome: &str) {
        if outcome == "ok" {
            self.hot[0].inc();
            return;
        }
        self.lookups
            .get_or_create(&OutcomeLabel {
                outcome: outcome.into(),
            })
            .inc();
    }

    /// Counts how one lookup was served by the cache.
    pub fn cache_result(&self, result: &str) {
        if result == "hit" {
            self.hot[1].inc();
            return;
        }
        self.cache
            .get_or_create(&CacheLabel {
                result: result.into(),
            })
            .inc();
    }

    /// Records one registry fetch.
    pub fn fetch(&self, outcome: &str, seconds: f64) {
        self.fetches
            .get_or_create(&OutcomeLabel {
                outcome: outcome.into(),
            })
            .inc();
        self.fetch_duration.observe(seconds);
    }

    /// Reads a counter of [`Self::cache`] (tests and benchmarks).
    pub fn cache_count(&self, result: &str) -> u64 {
        self.cache
            .get_or_create(&CacheLabel {
                result: result.into(),
            })
            .get()
    }

    /// Reads a counter of [`Self::fetches`] (tests and benchmarks).
    pub fn fetch_count(&self, outcome: &str) -> u64 {
        self.fetches
            .get_or_create(&OutcomeLabel {
                outcome: outcome.into(),
            })
            .get()
    }
}
