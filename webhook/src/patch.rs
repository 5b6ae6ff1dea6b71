//! A small JSON Patch builder: pointers built with `PointerBuf::from_tokens` (so `/` and `~` in
//! annotation keys are escaped), and missing parents created before their children.

use json_patch::{AddOperation, Patch, PatchOperation, jsonptr::PointerBuf};
use serde_json::Value;

/// Collects `add` operations against one document.
#[derive(Debug, Default)]
pub struct PatchBuilder {
    ops: Vec<PatchOperation>,
}

/// Builds a JSON pointer from unescaped tokens.
pub fn pointer(tokens: &[&str]) -> PointerBuf {
    PointerBuf::from_tokens(tokens.iter().copied())
}

impl PatchBuilder {
    /// `add` of `value` at `tokens` (sets an object member, inserts into an array, `-` appends).
    pub fn add(&mut self, tokens: &[&str], value: Value) {
        self.ops.push(PatchOperation::Add(AddOperation {
            path: pointer(tokens),
            value,
        }));
    }

    /// Ensures the container at `tokens` exists: adds `empty` there when `present` is false.
    pub fn ensure(&mut self, tokens: &[&str], present: bool, empty: Value) {
        if !present {
            self.add(tokens, empty);
        }
    }

    /// Appends `value` to the array at `tokens`, creating the array first when absent.
    pub fn append(&mut self, tokens: &[&str], present: bool, value: Value) {
        self.ensure(tokens, present, Value::Array(Vec::new()));
        let mut path: Vec<&str> = tokens.to_vec();
        path.push("-");
        self.add(&path, value);
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The finished patch.
    pub fn build(self) -> Patch {
        Patch(self.ops)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_escaped() {
        assert_eq!(
            pointer(&["metadata", "annotations", "respawn.dev/status"]).as_str(),
            "/metadata/annotations/respawn.dev~1status"
        );
        assert_eq!(pointer(&["a~b"]).as_str(), "/a~0b");
    }

    #[test]
    fn parents_first_then_children_apply_cleanly() {
        let mut doc = json!({"spec": {}});
        let mut b = PatchBuilder::default();
        b.append(&["spec", "volumes"], false, json!({"name": "v"}));
        b.append(&["spec", "volumes"], true, json!({"name": "w"}));
        b.ensure(&["metadata"], false, json!({}));
        b.add(&["metadata", "x/y"], json!("1"));
        json_patch::patch(&mut doc, &b.build()).unwrap();
        assert_eq!(
            doc,
            json!({"spec": {"volumes": [{"name": "v"}, {"name": "w"}]}, "metadata": {"x/y": "1"}})
        );
    }
}
