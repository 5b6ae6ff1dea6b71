//! The `respawn.dev/original-argv` annotation: per wrapped container, what it would have run
//! without respawn — its own `command`/`args`, and when the image was consulted, the image's
//! ENTRYPOINT, CMD and manifest digest (per platform where they differ). A JSON object sorted
//! by container name, so the text is stable. `respawn.dev/original-probes` has the same shape:
//! per container, the liveness/startup probes that were rewritten, as the pod had them.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Container;
use serde_json::{Value, json};

use super::argv::Source;
use crate::images::{ImageConfig, Platform};

/// The annotation's entries, by container name.
#[derive(Debug, Default)]
pub struct Originals(BTreeMap<String, Value>);

impl Originals {
    /// Records one wrapped container.
    pub fn add(
        &mut self,
        c: &Container,
        source: Source,
        image: Option<&ImageConfig>,
        per_platform: &[(Platform, std::sync::Arc<ImageConfig>)],
    ) {
        let mut entry = json!({
            "command": c.command,
            "args": c.args,
            "source": source.as_str(),
        });
        if let Some(img) = image {
            entry["entrypoint"] = json!(img.entrypoint);
            entry["cmd"] = json!(img.cmd);
            if let Some(d) = &img.digest {
                entry["digest"] = json!(d);
            }
        }
        if !per_platform.is_empty() {
            let platforms: BTreeMap<String, Value> = per_platform
                .iter()
                .map(|(p, img)| {
                    let v = json!({"entrypoint": img.entrypoint, "cmd": img.cmd, "digest": img.digest});
                    (p.to_string(), v)
                })
                .collect();
            entry["platforms"] = json!(platforms);
        }
        self.0.insert(c.name.clone(), entry);
    }

    /// Records `c`'s original probes that were rewritten, by field (none: nothing recorded).
    pub fn add_probes(&mut self, c: &Container, probes: serde_json::Map<String, Value>) {
        if !probes.is_empty() {
            self.0.insert(c.name.clone(), Value::Object(probes));
        }
    }

    /// The annotation's value.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).expect("JSON values always serialize")
    }

    /// The annotation's value, `None` when nothing was recorded.
    pub fn non_empty_json(&self) -> Option<String> {
        (!self.0.is_empty()).then(|| self.to_json())
    }
}
