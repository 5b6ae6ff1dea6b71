//! An [`ImageConfigProvider`] answering from a fixed map: for tests and air-gapped experiments.
//! (The admission benchmarks use the production `RegistryProvider` with a warm cache.)

use std::{collections::HashMap, sync::Arc, time::Duration};

use crate::image::{ImageConfig, ImageConfigProvider, Lookup, LookupError, LookupRequest};

/// Answers from a map; unknown images are `NotFound`. An optional delay simulates a registry.
#[derive(Debug, Clone, Default)]
pub struct StaticProvider {
    images: HashMap<String, Arc<ImageConfig>>,
    delay: Option<Duration>,
}

impl StaticProvider {
    /// An empty provider.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an image with the given ENTRYPOINT and CMD.
    pub fn with(mut self, image: &str, entrypoint: Option<&[&str]>, cmd: Option<&[&str]>) -> Self {
        let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        let cfg = ImageConfig {
            entrypoint: entrypoint.map(own),
            cmd: cmd.map(own),
            ..Default::default()
        };
        self.images.insert(image.to_string(), Arc::new(cfg));
        self
    }

    /// Adds an image with a full config.
    pub fn with_config(mut self, image: &str, config: ImageConfig) -> Self {
        self.images.insert(image.to_string(), Arc::new(config));
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
    async fn image_config(&self, req: &LookupRequest<'_>) -> Lookup {
        if let Some(d) = self.delay {
            tokio::time::sleep(d).await;
        }
        self.images
            .get(&*req.image)
            .cloned()
            .ok_or_else(|| LookupError::NotFound {
                image: req.image.to_string(),
                reason: "not in the static provider's map".into(),
            })
    }
}
