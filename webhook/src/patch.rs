//! A JSON Patch (RFC 6902) written straight into bytes: `add` operations only, and missing
//! parents created before their children. Paths are JSON pointers (RFC 6901) given already
//! escaped — constants, or built with [`pointer`] (`/` and `~` in annotation keys). The values
//! are written by the caller with [`crate::jsonw`]; the result is the patch's JSON text.

use std::sync::Arc;

use crate::jsonw;

/// A finished patch: its JSON text, and possibly the base64 of a leading part rendered once
/// and shared by every patch that starts with it (see [`Head`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Patch {
    json: Vec<u8>,
    head: Option<(usize, Arc<[u8]>)>,
}

impl Patch {
    /// The JSON text: an array of operations.
    pub fn json(&self) -> &[u8] {
        &self.json
    }

    /// Appends the standard base64 of [`Self::json`]: the cached head's encoding, then the
    /// rest (the head is a multiple of three bytes long, so the two encodings join exactly).
    pub fn write_base64(&self, out: &mut Vec<u8>) {
        let rest = match &self.head {
            Some((len, encoded)) => {
                out.extend_from_slice(encoded);
                &self.json[*len..]
            }
            None => &self.json[..],
        };
        jsonw::base64(out, rest);
    }

    /// Length of the base64 text.
    pub fn base64_len(&self) -> usize {
        self.json.len().div_ceil(3) * 4
    }
}

/// The start of a patch (`[` and a first operation) rendered once: JSON padded with spaces to
/// a multiple of three bytes, and its base64.
#[derive(Debug, Clone)]
pub struct Head {
    json: Vec<u8>,
    base64: Arc<[u8]>,
}

impl Head {
    /// Renders `[` and one `add` at `path`.
    pub fn new(path: &str, value: impl FnOnce(&mut Vec<u8>)) -> Head {
        let mut w = PatchWriter::default();
        w.add(path, value);
        let mut json = w.buf;
        while json.len() % 3 != 0 {
            json.push(b' ');
        }
        let mut base64 = Vec::new();
        jsonw::base64(&mut base64, &json);
        Head {
            json,
            base64: base64.into(),
        }
    }
}

/// Collects `add` operations against one document, as JSON text.
#[derive(Debug)]
pub struct PatchWriter {
    buf: Vec<u8>,
    ops: usize,
    head: Option<(usize, Arc<[u8]>)>,
}

impl Default for PatchWriter {
    fn default() -> Self {
        let mut buf = Vec::with_capacity(2048);
        buf.push(b'[');
        PatchWriter {
            buf,
            ops: 0,
            head: None,
        }
    }
}

/// A JSON pointer from unescaped tokens: `~` becomes `~0` and `/` becomes `~1` in each.
pub fn pointer(tokens: &[&str]) -> String {
    let mut p = String::new();
    for t in tokens {
        p.push('/');
        p.push_str(&t.replace('~', "~0").replace('/', "~1"));
    }
    p
}

impl PatchWriter {
    /// A patch whose first operation is `head`'s.
    pub fn starting_with(head: &Head) -> PatchWriter {
        let mut buf = Vec::with_capacity(head.json.len() + 1536);
        buf.extend_from_slice(&head.json);
        PatchWriter {
            buf,
            ops: 1,
            head: Some((head.json.len(), head.base64.clone())),
        }
    }

    /// `add` at the pointer `path` (sets an object member, inserts into an array, `-`
    /// appends); `value` writes the value's JSON.
    pub fn add(&mut self, path: &str, value: impl FnOnce(&mut Vec<u8>)) {
        if self.ops > 0 {
            self.buf.push(b',');
        }
        self.ops += 1;
        self.buf.extend_from_slice(br#"{"op":"add","path":"#);
        jsonw::string(&mut self.buf, path);
        self.buf.extend_from_slice(br#","value":"#);
        value(&mut self.buf);
        self.buf.push(b'}');
    }

    /// `add` of a JSON literal.
    pub fn add_json(&mut self, path: &str, json: &str) {
        self.add(path, |out| out.extend_from_slice(json.as_bytes()));
    }

    /// Ensures the object or array at `path` exists: adds `empty` (`{}` or `[]`) there when
    /// `present` is false.
    pub fn ensure(&mut self, path: &str, present: bool, empty: &str) {
        if !present {
            self.add_json(path, empty);
        }
    }

    /// Appends a value to the array at `path`, creating the array first when absent.
    pub fn append(&mut self, path: &str, present: bool, value: impl FnOnce(&mut Vec<u8>)) {
        self.ensure(path, present, "[]");
        let mut end = String::with_capacity(path.len() + 2);
        end.push_str(path);
        end.push_str("/-");
        self.add(&end, value);
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.ops == 0
    }

    /// The finished patch: a JSON array of operations.
    pub fn finish(mut self) -> Patch {
        self.buf.push(b']');
        Patch {
            json: self.buf,
            head: self.head,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parents_first_then_children_apply_cleanly() {
        let mut doc = json!({"spec": {}});
        let mut b = PatchWriter::default();
        assert!(b.is_empty());
        b.append("/spec/volumes", false, |o| {
            o.extend_from_slice(br#"{"name":"v"}"#)
        });
        b.append("/spec/volumes", true, |o| jsonw::string(o, "w"));
        b.ensure("/metadata", false, "{}");
        b.add(&pointer(&["metadata", "x/y"]), |o| jsonw::string(o, "1"));
        b.ensure("/metadata", true, "{}");
        let patch: json_patch::Patch = serde_json::from_slice(b.finish().json()).unwrap();
        assert_eq!(patch.0.len(), 5);
        json_patch::patch(&mut doc, &patch).unwrap();
        assert_eq!(
            doc,
            json!({"spec": {"volumes": [{"name": "v"}, "w"]}, "metadata": {"x/y": "1"}})
        );
    }

    #[test]
    fn pointers_escape_tilde_then_slash() {
        assert_eq!(
            pointer(&["metadata", "annotations", "respawn.dev/status"]),
            "/metadata/annotations/respawn.dev~1status"
        );
        assert_eq!(pointer(&["a~b"]), "/a~0b");
        assert_eq!(pointer(&["~1"]), "/~01");
        let doc = json!({"a/b": {"~1": 7}});
        assert_eq!(doc.pointer(&pointer(&["a/b", "~1"])), Some(&json!(7)));
    }

    #[test]
    fn empty_patch_is_an_empty_array() {
        assert_eq!(PatchWriter::default().finish().json(), b"[]");
    }

    #[test]
    fn a_cached_head_encodes_like_the_whole_text() {
        use base64::Engine;
        for extra in ["", "x", "xy", "xyz"] {
            let head = Head::new(&format!("/a{extra}"), |o| jsonw::string(o, "v"));
            let mut b = PatchWriter::starting_with(&head);
            for n in 0..3 {
                b.add(&format!("/b{n}"), |o| jsonw::string(o, extra));
            }
            let patch = b.finish();
            let mut got = Vec::new();
            patch.write_base64(&mut got);
            let want = base64::engine::general_purpose::STANDARD.encode(patch.json());
            assert_eq!(String::from_utf8(got).unwrap(), want);
            assert_eq!(want.len(), patch.base64_len());
            let ops: json_patch::Patch = serde_json::from_slice(patch.json()).unwrap();
            assert_eq!(ops.0.len(), 4, "head and three more");
        }
    }
}
