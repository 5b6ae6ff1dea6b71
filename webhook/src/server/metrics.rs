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

use crate::images::registry::RegistryMetrics;

type Labels = [(&'static str, &'static str); 1];

/// Every metric the webhook exports.
pub struct Metrics {
    registry: Registry,
    requests: Counters,
    injected: Counter,
    skipped: Counters,
    denied: Counter,
    lookups: Counters,
    latency: Histogram,
}

/// A counter family with one label. The values counted on every review are resolved once, so
/// counting them is one atomic add (no label hashing, no lock); they exist from the start with
/// value 0. Other values go through the family.
struct Counters {
    label: &'static str,
    family: Family<Labels, Counter>,
    resolved: Vec<(&'static str, Counter)>,
}

impl Counters {
    fn new(label: &'static str, resolved: &[&'static str]) -> Self {
        let family = Family::<Labels, Counter>::default();
        let mut pairs = Vec::with_capacity(resolved.len());
        for &value in resolved {
            // One statement each: the family's read guard must be gone before the next insert.
            let counter = family.get_or_create(&[(label, value)]).clone();
            pairs.push((value, counter));
        }
        Counters {
            label,
            family,
            resolved: pairs,
        }
    }

    fn inc(&self, value: &'static str) {
        match self.resolved.iter().find(|(v, _)| *v == value) {
            Some((_, c)) => c.inc(),
            None => self.family.get_or_create(&[(self.label, value)]).inc(),
        };
    }
}

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
        let results = ["patched", "allowed", "denied", "invalid", "panic"];
        let requests = Counters::new("result", &results);
        let injected = Counter::default();
        let skipped = Counters::new("reason", &[]);
        let denied = Counter::default();
        let lookups = Counters::new("outcome", &["ok"]);
        // 100 µs … ~3.3 s
        let latency = Histogram::new(exponential_buckets(0.0001, 2.0, 16));
        registry.register(
            "admission_requests",
            "AdmissionReview requests by result (patched, allowed, denied, invalid, panic)",
            requests.family.clone(),
        );
        registry.register(
            "pods_injected",
            "Pods the supervisor was injected into",
            injected.clone(),
        );
        registry.register(
            "pods_skipped",
            "Pods admitted unchanged, by reason",
            skipped.family.clone(),
        );
        registry.register(
            "pods_denied",
            "Pods denied because a lookup failed under the deny policy",
            denied.clone(),
        );
        registry.register(
            "image_lookups",
            "Image config lookups by outcome",
            lookups.family.clone(),
        );
        registry.register(
            "admission_duration_seconds",
            "Time to answer an AdmissionReview",
            latency.clone(),
        );
        Metrics {
            registry: root,
            requests,
            injected,
            skipped,
            denied,
            lookups,
            latency,
        }
    }

    /// Counts one answered request.
    pub fn request(&self, result: &'static str, took: Duration) {
        self.requests.inc(result);
        self.latency.observe(took.as_secs_f64());
    }

    /// Counts an injected pod.
    pub fn injected(&self) {
        self.injected.inc();
    }

    /// Counts a pod admitted unchanged.
    pub fn skipped(&self, reason: &'static str) {
        self.skipped.inc(reason);
    }

    /// Counts a denied pod.
    pub fn denied(&self) {
        self.denied.inc();
    }

    /// Counts one lookup result.
    pub fn lookup(&self, result: &crate::images::Lookup) {
        self.lookups.inc(crate::images::outcome_label(result));
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
    use crate::images::LookupError;

    #[test]
    fn renders_every_family() {
        let m = Metrics::new();
        m.request("patched", Duration::from_millis(1));
        m.request("made-up", Duration::from_millis(1));
        m.lookup(&Ok(Default::default()));
        m.injected();
        m.skipped("disabled");
        m.denied();
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
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
    }
}
