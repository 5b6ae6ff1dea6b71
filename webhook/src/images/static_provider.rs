//! An [`ImageConfigProvider`] answering from a fixed map: for tests and air-gapped experiments.

use std::{collections::HashMap, sync::Arc, time::Duration};

use super::{ImageConfig, ImageConfigProvider, Lookup, LookupError, LookupRequest, Platform};

/// Answers from a map; unknown images are `NotFound`. An image may have per-platform configs
/// (an index): then a platform it lacks is `PlatformMissing`. An optional delay simulates a
/// registry.
#[derive(Debug, Clone, Default)]
pub struct StaticProvider {
    images: HashMap<String, Arc<ImageConfig>>,
    indexes: HashMap<String, Vec<(Platform, Arc<ImageConfig>)>>,
    delay: Option<Duration>,
}

fn own(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn config(entrypoint: Option<&[&str]>, cmd: Option<&[&str]>) -> ImageConfig {
    ImageConfig {
        entrypoint: entrypoint.map(own),
        cmd: cmd.map(own),
        ..Default::default()
    }
}

impl StaticProvider {
    /// An empty provider.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an image with the given ENTRYPOINT and CMD, the same on every platform.
    pub fn with(mut self, image: &str, entrypoint: Option<&[&str]>, cmd: Option<&[&str]>) -> Self {
        self.images
            .insert(image.to_string(), Arc::new(config(entrypoint, cmd)));
        self
    }

    /// Adds an image with a full config, the same on every platform.
    pub fn with_config(mut self, image: &str, config: ImageConfig) -> Self {
        self.images.insert(image.to_string(), Arc::new(config));
        self
    }

    /// Adds one platform's entry of an index image.
    pub fn with_platform(
        mut self,
        image: &str,
        platform: &str,
        entrypoint: Option<&[&str]>,
        cmd: Option<&[&str]>,
    ) -> Self {
        let p: Platform = platform.parse().expect("a platform like linux/arm64");
        self.indexes
            .entry(image.to_string())
            .or_default()
            .push((p, Arc::new(config(entrypoint, cmd))));
        self
    }

    /// Every answer takes `delay` (the caller's deadline still applies).
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }
}

#[async_trait::async_trait]
impl ImageConfigProvider for StaticProvider {
    async fn image_config(&self, req: &LookupRequest) -> Lookup {
        if let Some(d) = self.delay {
            tokio::time::sleep(d).await;
        }
        if let Some(entries) = self.indexes.get(&req.image) {
            return entries
                .iter()
                .find(|(p, _)| p.same_as(&req.platform))
                .map(|(_, c)| Arc::clone(c))
                .ok_or_else(|| LookupError::PlatformMissing {
                    image: req.image.clone(),
                    wanted: req.platform.to_string(),
                    available: entries
                        .iter()
                        .map(|(p, _)| p.to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
        }
        self.images
            .get(&req.image)
            .cloned()
            .ok_or_else(|| LookupError::NotFound {
                image: req.image.clone(),
                reason: "not in the static provider's map".into(),
            })
    }
}
