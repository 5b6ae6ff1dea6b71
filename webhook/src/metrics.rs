//! Prometheus metrics (prometheus-client), served as text on the plain-HTTP port's `/metrics`.

use std::time::Duration;

use prometheus_client::{
    encoding::text::encode,
    metrics::{
        counter::Counter,
        family::Family,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

use crate::image::LookupError;
use crate::registry::RegistryMetrics;

type Labels = [(&'static str, &'static str); 1];

/// Every metric the webhook exports.
pub struct Metrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    injected: Counter,
    skipped: Family<Labels, Counter>,
    denied: Counter,
    lookups: Family<Labels, Counter>,
    latency: Histogram,
    read_fast: Counter,
    read_serde: Counter,
    /// The hot path's counters, looked up once: `(family, label value, counter)`.
    hot: Vec<(&'static str, &'static str, Counter)>,
}

/// Label values counted on every review; their counters are resolved once at start.
const HOT: [(&str, &str); 6] = [
    ("requests", "patched"),
    ("requests", "allowed"),
    ("requests", "ignored"),
    ("requests", "denied"),
    ("requests", "invalid"),
    ("lookups", "ok"),
];

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Creates and registers every metric under the `respawn_webhook_` prefix.
    pub fn new() -> Self {
        Self::build(None)
    }

    /// Like [`Metrics::new`], also exporting the registry provider's `respawn_*` metrics.
    pub fn with_registry_metrics(rm: &RegistryMetrics) -> Self {
        Self::build(Some(rm))
    }

    fn build(rm: Option<&RegistryMetrics>) -> Self {
        let mut root = Registry::default();
        if let Some(rm) = rm {
            rm.register(&mut root);
        }
        let registry = root.sub_registry_with_prefix("respawn_webhook");
        let requests = Family::<Labels, Counter>::default();
        let injected = Counter::default();
        let skipped = Family::<Labels, Counter>::default();
        let denied = Counter::default();
        let lookups = Family::<Labels, Counter>::default();
        // 100 µs … ~3.3 s
        let latency = Histogram::new(exponential_buckets(0.0001, 2.0, 16));
        registry.register(
            "admission_requests",
            "AdmissionReview requests by result (patched, allowed, denied, invalid)",
            requests.clone(),
        );
        registry.register(
            "pods_injected",
            "Pods the supervisor was injected into",
            injected.clone(),
        );
        registry.register(
            "pods_skipped",
            "Pods admitted unchanged, by reason",
            skipped.clone(),
        );
        registry.register(
            "pods_denied",
            "Pods denied because a lookup failed under the deny policy",
            denied.clone(),
        );
        registry.register(
            "image_lookups",
            "Image config lookups by outcome",
            lookups.clone(),
        );
        let reads = Family::<Labels, Counter>::default();
        registry.register(
            "review_reads",
            "AdmissionReview bodies by the reader that understood them: fast (the hot-path \
             reader) or serde (the fallback, for anything the fast reader declines)",
            reads.clone(),
        );
        registry.register(
            "admission_duration_seconds",
            "Time to answer an AdmissionReview",
            latency.clone(),
        );
        // One statement each: the family's read guard must be gone before the next insert.
        let read_fast = reads.get_or_create(&[("reader", "fast")]).clone();
        let read_serde = reads.get_or_create(&[("reader", "serde")]).clone();
        let mut hot = Vec::with_capacity(HOT.len());
        for (family, value) in HOT {
            let counter = if family == "requests" {
                requests.get_or_create(&[("result", value)]).clone()
            } else {
                lookups.get_or_create(&[("outcome", value)]).clone()
            };
            hot.push((family, value, counter));
        }
        Metrics {
            registry: root,
            requests,
            injected,
            skipped,
            denied,
            lookups,
            latency,
            read_fast,
            read_serde,
            hot,
        }
    }

    /// Counts a body read by the hot-path reader (`fast`) or by serde_json (its fallback).
    pub fn read_by(&self, fast: bool) {
        if fast {
            self.read_fast.inc();
        } else {
            self.read_serde.inc();
        }
    }

    /// The pre-resolved counter of `family` for `value`, if it is one of [`HOT`].
    fn hot(&self, family: &str, value: &str) -> Option<&Counter> {
        self.hot
            .iter()
            .find(|(f, v, _)| *f == family && *v == value)
            .map(|(_, _, c)| c)
    }

    /// Counts one answered request.
    pub fn request(&self, result: &'static str, took: Duration) {
        match self.hot("requests", result) {
            Some(c) => c.inc(),
            None => self.requests.get_or_create(&[("result", result)]).inc(),
        };
        self.latency.observe(took.as_secs_f64());
    }

    /// Counts an injected pod.
    pub fn injected(&self) {
        self.injected.inc();
    }

    /// Counts a pod admitted unchanged.
    pub fn skipped(&self, reason: &'static str) {
        self.skipped.get_or_create(&[("reason", reason)]).inc();
    }

    /// Counts a denied pod.
    pub fn denied(&self) {
        self.denied.inc();
    }

    /// Counts one lookup result.
    pub fn lookup(&self, result: &Result<crate::image::ImageConfig, LookupError>) {
        let outcome = crate::image::outcome_label(result);
        match self.hot("lookups", outcome) {
            Some(c) => c.inc(),
            None => self.lookups.get_or_create(&[("outcome", outcome)]).inc(),
        };
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_family() {
        let m = Metrics::new();
        m.request("patched", Duration::from_millis(1));
        m.request("made-up", Duration::from_millis(1));
        m.lookup(&Ok(Default::default()));
        m.injected();
        m.skipped("disabled");
        m.denied();
        m.read_by(true);
        m.lookup(&Err(LookupError::Timeout {
            image: "x".into(),
            budget_ms: 1,
        }));
        let text = m.render();
        for needle in [
            "respawn_webhook_admission_requests_total{result=\"patched\"} 1",
            "respawn_webhook_pods_injected_total 1",
            "respawn_webhook_pods_skipped_total{reason=\"disabled\"} 1",
            "respawn_webhook_pods_denied_total 1",
            "respawn_webhook_image_lookups_total{outcome=\"timeout\"} 1",
            "respawn_webhook_admission_requests_total{result=\"made-up\"} 1",
            "respawn_webhook_admission_requests_total{result=\"denied\"} 0",
            "respawn_webhook_image_lookups_total{outcome=\"ok\"} 1",
            "respawn_webhook_admission_duration_seconds_count 2",
            "respawn_webhook_review_reads_total{reader=\"fast\"} 1",
            "respawn_webhook_review_reads_total{reader=\"serde\"} 0",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
    }
}
