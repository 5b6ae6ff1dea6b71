//! Renders a [`Mutation`] as a JSON Patch (`json_patch::Patch`) against the pod it was decided
//! for. Added objects are k8s-openapi types; pointers are built with `PointerBuf::from_tokens`
//! (escaping `/` and `~`), and a missing parent list or map is added whole instead of indexed
//! into. Every operation is an `add`: it works whether or not another webhook changed the pod
//! before us, as long as it did not remove what we index (containers by position). A rewritten
//! probe is added whole over the original (an `add` of an existing member replaces it).

mod objects;

pub use objects::{install_container, pod_ip_var, probe_for, supervisor_mount, supervisor_volume};

use json_patch::jsonptr::PointerBuf;
use json_patch::{AddOperation, Patch, PatchOperation};
use k8s_openapi::api::core::v1::{EnvVar, Pod};
use serde_json::{Value, json};

use crate::decision::{Mutation, SUPERVISOR_PATH};

/// The JSON Patch that applies `m` to `pod`.
pub fn patch(pod: &Pod, m: &Mutation) -> Patch {
    let spec = pod
        .spec
        .as_ref()
        .expect("a mutation is only decided for pods with a spec");
    let mut ops = Ops::default();
    if let Some(install) = &m.install {
        let init = to_value(&install_container(install, &m.volume.name));
        match &spec.init_containers {
            // First: it must run before any other init container (native sidecars included).
            Some(_) => ops.add(&["spec", "initContainers", "0"], init),
            None => ops.add(&["spec", "initContainers"], json!([init])),
        }
    }
    ops.append(
        &["spec", "volumes"],
        spec.volumes.is_some(),
        to_value(&supervisor_volume(&m.volume)),
    );
    for w in &m.containers {
        let c = &spec.containers[w.index];
        let at = |field: &'static str| {
            [
                "spec".to_string(),
                "containers".into(),
                w.index.to_string(),
                field.into(),
            ]
        };
        ops.add(&at("command"), json!([SUPERVISOR_PATH]));
        ops.add(&at("args"), json!(w.args));
        ops.append(
            &at("volumeMounts"),
            c.volume_mounts.is_some(),
            to_value(&supervisor_mount(&m.volume.name)),
        );
        let mut env_present = c.env.is_some();
        let literal = w.env.iter().map(|(name, value)| EnvVar {
            name: name.clone(),
            value: Some(value.clone()),
            ..Default::default()
        });
        for var in literal.chain(w.pod_ip.then(pod_ip_var)) {
            ops.append(&at("env"), env_present, to_value(&var));
            env_present = true;
        }
        for r in &w.probes {
            if let Some(probe) = probe_for(c, r) {
                ops.add(&at(r.field.json_name()), to_value(&probe));
            }
        }
    }
    ops.set("labels", pod.metadata.labels.is_some(), &m.labels);
    ops.set("annotations", pod.metadata.annotations.is_some(), &m.annotations);
    Patch(ops.0)
}

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("k8s-openapi objects always serialize")
}

#[derive(Default)]
struct Ops(Vec<PatchOperation>);

impl Ops {
    fn add<S: AsRef<str>>(&mut self, tokens: &[S], value: Value) {
        let path = PointerBuf::from_tokens(tokens.iter().map(AsRef::as_ref));
        self.0.push(PatchOperation::Add(AddOperation { path, value }));
    }

    /// Sets `entries` in the string map `metadata.<map>`, or adds the map when it is absent.
    fn set(&mut self, map: &str, present: bool, entries: &[(String, String)]) {
        if entries.is_empty() {
            return;
        }
        if present {
            for (k, v) in entries {
                self.add(&["metadata", map, k.as_str()], json!(v));
            }
        } else {
            let all = entries.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
            self.add(&["metadata", map], Value::Object(all));
        }
    }

    /// Appends `value` to the list at `tokens`, or adds the list when it is absent.
    fn append<S: AsRef<str>>(&mut self, tokens: &[S], present: bool, value: Value) {
        if present {
            let mut with_end: Vec<&str> = tokens.iter().map(AsRef::as_ref).collect();
            with_end.push("-");
            self.add(&with_end, value);
        } else {
            self.add(tokens, json!([value]));
        }
    }
}

#[cfg(test)]
mod tests;
