//! The hot path's reader for a Pod AdmissionReview: a strict, single-pass JSON reader that
//! fills the same view as serde (`review::PodReviewIn`) without serde's per-token machinery.
//!
//! An admission body is mostly fields the webhook never reads (userInfo, ownerReferences,
//! managedFields, probes, resources …). serde_json pays a generic visitor call, a key parse and
//! a UTF-8 check for each of them; here the body is checked for UTF-8 once, strings are found
//! eight bytes at a time, and unknown values are skipped with a grammar check only.
//!
//! The contract, which the tests check against serde_json on fixtures, generated reviews and
//! mutated bodies: when [`pod_review`] returns `Some(v)`, `serde_json::from_slice` returns
//! `Ok(v)` for the same bytes. Whenever the reader is not sure — invalid JSON, `null` or a wrong
//! type in a field the view reads, a duplicate field, a lone surrogate, nesting deeper than
//! [`MAX_DEPTH`] — it returns `None` and the caller asks serde_json, which gives the answer or
//! the precise error. Rejecting more than serde is allowed; accepting more is not.

use std::{borrow::Cow, collections::BTreeMap};

use kube::core::{GroupVersionKind, admission::Operation};

use crate::jsonw::escape_mask;
use crate::podview::{Container, Named, ObjectMeta, Pod, PodSpec, VolumeMount};
use crate::review::{PodRequestIn, PodReviewIn};

/// Deepest nesting the reader follows (serde_json's limit is 128).
pub const MAX_DEPTH: u32 = 100;

/// Reads a Pod AdmissionReview, or `None` when serde_json must decide (see the module docs).
pub fn pod_review(body: &[u8]) -> Option<PodReviewIn> {
    let s = std::str::from_utf8(body).ok()?;
    let mut r = Reader {
        s,
        b: s.as_bytes(),
        i: 0,
        depth: 0,
    };
    let mut request = None;
    let mut seen = 0;
    r.ws();
    r.object(|r, key| match key {
        "request" => {
            once(&mut seen, 0)?;
            request = Some(r.request()?);
            Some(())
        }
        _ => r.skip(),
    })?;
    r.ws();
    (r.i == r.b.len()).then_some(PodReviewIn { request })
}

/// Marks field `bit` as seen; `None` on a duplicate (serde rejects duplicate known fields).
fn once(seen: &mut u32, bit: u32) -> Option<()> {
    if *seen & (1 << bit) != 0 {
        return None;
    }
    *seen |= 1 << bit;
    Some(())
}

struct Reader<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
    depth: u32,
}

impl<'a> Reader<'a> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// `{ "key": value, … }` at the current position; `member` reads each value.
    fn object(&mut self, mut member: impl FnMut(&mut Self, &str) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        if self.eat(b'}').is_none() {
            loop {
                let key = self.string()?;
                self.ws();
                self.eat(b':')?;
                self.ws();
                member(self, &key)?;
                self.ws();
                match self.peek()? {
                    b',' => self.i += 1,
                    b'}' => {
                        self.i += 1;
                        break;
                    }
                    _ => return None,
                }
                self.ws();
            }
        }
        self.depth -= 1;
        Some(())
    }

    /// `[ value, … ]` at the current position; `element` reads each value.
    fn array(&mut self, mut element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(b'[')?;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        if self.eat(b']').is_none() {
            loop {
                element(self)?;
                self.ws();
                match self.peek()? {
                    b',' => self.i += 1,
                    b']' => {
                        self.i += 1;
                        break;
                    }
                    _ => return None,
                }
                self.ws();
            }
        }
        self.depth -= 1;
        Some(())
    }

    /// Index of the next `"`, `\` or control character at or after `i`.
    #[inline(always)]
    fn special(&self, mut i: usize) -> Option<usize> {
        while let Some(word) = self.b.get(i..i + 8) {
            let mask = escape_mask(u64::from_le_bytes(word.try_into().ok()?));
            if mask != 0 {
                return Some(i + (mask.trailing_zeros() / 8) as usize);
            }
            i += 8;
        }
        let rest = self.b.get(i..)?;
        let at = rest.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
        Some(i + at)
    }

    /// A string at the current position: borrowed from the body unless it has escapes.
    #[inline(always)]
    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.eat(b'"')?;
        let start = self.i;
        let end = self.special(start)?;
        if self.b[end] == b'"' {
            self.i = end + 1;
            return Some(Cow::Borrowed(self.s.get(start..end)?));
        }
        self.escaped_string(start, end)
    }

    /// The rest of a string whose first special byte, at `end`, is not its closing quote.
    #[cold]
    #[inline(never)]
    fn escaped_string(&mut self, start: usize, mut end: usize) -> Option<Cow<'a, str>> {
        let mut owned = String::with_capacity(end - start + 8);
        self.i = start;
        loop {
            owned.push_str(self.s.get(self.i..end)?);
            match self.b[end] {
                b'"' => {
                    self.i = end + 1;
                    return Some(Cow::Owned(owned));
                }
                b'\\' => {
                    self.i = end;
                    owned.push(self.escape()?);
                    end = self.special(self.i)?;
                }
                _ => return None,
            }
        }
    }

    /// One escape sequence at `\`; a surrogate pair must be complete.
    fn escape(&mut self) -> Option<char> {
        let c = *self.b.get(self.i + 1)?;
        self.i += 2;
        Some(match c {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = self.hex4()?;
                if (0xD800..0xDC00).contains(&hi) {
                    if self.b.get(self.i..self.i + 2)? != b"\\u" {
                        return None;
                    }
                    self.i += 2;
                    let lo = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&lo) {
                        return None;
                    }
                    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))?
                } else {
                    char::from_u32(hi)?
                }
            }
            _ => return None,
        })
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.s.get(self.i..self.i + 4)?;
        if !digits.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        self.i += 4;
        u32::from_str_radix(digits, 16).ok()
    }

    /// Any value, checked against the JSON grammar and dropped. One loop with the open
    /// containers as a bit stack (1 = object), no call per token: most of a review is skipped.
    fn skip(&mut self) -> Option<()> {
        let mut objects: u128 = 0;
        let mut d: u32 = 0;
        'value: loop {
            match self.peek()? {
                open @ (b'{' | b'[') => {
                    d += 1;
                    if self.depth + d > MAX_DEPTH {
                        return None;
                    }
                    let object = open == b'{';
                    let bit = 1u128 << (d - 1);
                    objects = if object { objects | bit } else { objects & !bit };
                    self.i += 1;
                    self.ws();
                    if self.peek()? == open + 2 {
                        // `}` and `]` follow `{` and `[` by two in ASCII.
                        self.i += 1;
                        d -= 1;
                    } else {
                        if object {
                            self.member_key()?;
                        }
                        continue 'value;
                    }
                }
                b'"' => self.skip_string()?,
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                b'-' | b'0'..=b'9' => self.number()?,
                _ => return None,
            }
            // A value ended: close containers until a `,` leads to the next value.
            loop {
                if d == 0 {
                    return Some(());
                }
                self.ws();
                let object = objects >> (d - 1) & 1 == 1;
                match self.peek()? {
                    b',' => {
                        self.i += 1;
                        self.ws();
                        if object {
                            self.member_key()?;
                        }
                        continue 'value;
                    }
                    b'}' if object => {}
                    b']' if !object => {}
                    _ => return None,
                }
                self.i += 1;
                d -= 1;
            }
        }
    }

    /// `"key":` inside a skipped object, leaving the position at the value.
    #[inline(always)]
    fn member_key(&mut self) -> Option<()> {
        self.skip_string()?;
        self.ws();
        self.eat(b':')?;
        self.ws();
        Some(())
    }

    /// A string, checked (escapes included) and dropped: nothing is sliced or copied.
    #[inline(always)]
    fn skip_string(&mut self) -> Option<()> {
        self.eat(b'"')?;
        loop {
            let end = self.special(self.i)?;
            match self.b[end] {
                b'"' => {
                    self.i = end + 1;
                    return Some(());
                }
                b'\\' => {
                    self.i = end;
                    self.escape()?;
                }
                _ => return None,
            }
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.i + word.len();
        (self.b.get(self.i..end)? == word).then(|| self.i = end)
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> Option<()> {
        let digits = |r: &mut Self| {
            let start = r.i;
            while let Some(b'0'..=b'9') = r.peek() {
                r.i += 1;
            }
            (r.i > start).then_some(())
        };
        let _ = self.eat(b'-');
        if self.eat(b'0').is_none() {
            digits(self)?;
        }
        if self.eat(b'.').is_some() {
            digits(self)?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            digits(self)?;
        }
        Some(())
    }

    /// A string field (no `null`).
    fn owned(&mut self) -> Option<String> {
        self.string().map(Cow::into_owned)
    }

    fn strings(&mut self) -> Option<Vec<String>> {
        let mut v = Vec::new();
        self.array(|r| {
            v.push(r.owned()?);
            Some(())
        })?;
        Some(v)
    }

    fn string_map(&mut self) -> Option<BTreeMap<String, String>> {
        let mut m = BTreeMap::new();
        self.object(|r, key| {
            m.insert(key.to_owned(), r.owned()?);
            Some(())
        })?;
        Some(m)
    }

    fn list<T>(&mut self, mut item: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        let mut v = Vec::new();
        self.array(|r| {
            v.push(item(r)?);
            Some(())
        })?;
        Some(v)
    }

    fn request(&mut self) -> Option<PodRequestIn> {
        let (mut uid, mut kind, mut sub_resource, mut namespace) = (None, None, None, None);
        let (mut operation, mut object, mut seen) = (None, None, 0);
        self.object(|r, key| {
            match key {
                "uid" => {
                    once(&mut seen, 0)?;
                    uid = Some(r.owned()?);
                }
                "kind" => {
                    once(&mut seen, 1)?;
                    kind = Some(r.gvk()?);
                }
                "subResource" => {
                    once(&mut seen, 2)?;
                    sub_resource = Some(r.owned()?);
                }
                "namespace" => {
                    once(&mut seen, 3)?;
                    namespace = Some(r.owned()?);
                }
                "operation" => {
                    once(&mut seen, 4)?;
                    operation = Some(r.operation()?);
                }
                "object" => {
                    once(&mut seen, 5)?;
                    object = Some(r.pod()?);
                }
                _ => return r.skip(),
            }
            Some(())
        })?;
        Some(PodRequestIn {
            uid: uid?,
            kind: kind?,
            sub_resource,
            namespace,
            operation: operation?,
            object,
        })
    }

    fn gvk(&mut self) -> Option<GroupVersionKind> {
        let (mut group, mut version, mut kind, mut seen) = (None, None, None, 0);
        self.object(|r, key| {
            match key {
                "group" => {
                    once(&mut seen, 0)?;
                    group = Some(r.owned()?);
                }
                "version" => {
                    once(&mut seen, 1)?;
                    version = Some(r.owned()?);
                }
                "kind" => {
                    once(&mut seen, 2)?;
                    kind = Some(r.owned()?);
                }
                _ => return r.skip(),
            }
            Some(())
        })?;
        Some(GroupVersionKind {
            group: group?,
            version: version?,
            kind: kind?,
        })
    }

    fn operation(&mut self) -> Option<Operation> {
        Some(match &*self.string()? {
            "CREATE" => Operation::Create,
            "UPDATE" => Operation::Update,
            "DELETE" => Operation::Delete,
            "CONNECT" => Operation::Connect,
            _ => return None,
        })
    }

    fn pod(&mut self) -> Option<Pod> {
        let (mut pod, mut seen) = (Pod::default(), 0);
        self.object(|r, key| {
            match key {
                "metadata" => {
                    once(&mut seen, 0)?;
                    pod.metadata = r.metadata()?;
                }
                "spec" => {
                    once(&mut seen, 1)?;
                    pod.spec = Some(r.spec()?);
                }
                _ => return r.skip(),
            }
            Some(())
        })?;
        Some(pod)
    }

    fn metadata(&mut self) -> Option<ObjectMeta> {
        let (mut m, mut seen) = (ObjectMeta::default(), 0);
        self.object(|r, key| {
            match key {
                "name" => {
                    once(&mut seen, 0)?;
                    m.name = Some(r.owned()?);
                }
                "generateName" => {
                    once(&mut seen, 1)?;
                    m.generate_name = Some(r.owned()?);
                }
                "namespace" => {
                    once(&mut seen, 2)?;
                    m.namespace = Some(r.owned()?);
                }
                "labels" => {
                    once(&mut seen, 3)?;
                    m.labels = Some(r.string_map()?);
                }
                "annotations" => {
                    once(&mut seen, 4)?;
                    m.annotations = Some(r.string_map()?);
                }
                _ => return r.skip(),
            }
            Some(())
        })?;
        Some(m)
    }

    fn spec(&mut self) -> Option<PodSpec> {
        let (mut s, mut seen) = (PodSpec::default(), 0);
        self.object(|r, key| {
            match key {
                "containers" => {
                    once(&mut seen, 0)?;
                    s.containers = r.list(Self::container)?;
                }
                "initContainers" => {
                    once(&mut seen, 1)?;
                    s.init_containers = Some(r.list(Self::container)?);
                }
                "ephemeralContainers" => {
                    once(&mut seen, 2)?;
                    s.ephemeral_containers = Some(r.list(Self::named)?);
                }
                "volumes" => {
                    once(&mut seen, 3)?;
                    s.volumes = Some(r.list(Self::named)?);
                }
                "nodeSelector" => {
                    once(&mut seen, 4)?;
                    s.node_selector = Some(r.string_map()?);
                }
                "os" => {
                    once(&mut seen, 5)?;
                    s.os = Some(r.named()?);
                }
                "imagePullSecrets" => {
                    once(&mut seen, 6)?;
                    s.image_pull_secrets = Some(r.list(Self::named)?);
                }
                "serviceAccountName" => {
                    once(&mut seen, 7)?;
                    s.service_account_name = Some(r.owned()?);
                }
                _ => return r.skip(),
            }
            Some(())
        })?;
        Some(s)
    }

    fn container(&mut self) -> Option<Container> {
        let (mut c, mut seen) = (Container::default(), 0);
        self.object(|r, key| {
            match key {
                "name" => {
                    once(&mut seen, 0)?;
                    c.name = r.owned()?;
                }
                "image" => {
                    once(&mut seen, 1)?;
                    c.image = Some(r.owned()?);
                }
                "command" => {
                    once(&mut seen, 2)?;
                    c.command = Some(r.strings()?);
                }
                "args" => {
                    once(&mut seen, 3)?;
                    c.args = Some(r.strings()?);
                }
                "env" => {
                    once(&mut seen, 4)?;
                    c.env = Some(r.list(Self::named)?);
                }
                "volumeMounts" => {
                    once(&mut seen, 5)?;
                    c.volume_mounts = Some(r.list(Self::volume_mount)?);
                }
                _ => return r.skip(),
            }
            Some(())
        })?;
        Some(c)
    }

    fn named(&mut self) -> Option<Named> {
        let (mut n, mut seen) = (Named::default(), 0);
        self.object(|r, key| match key {
            "name" => {
                once(&mut seen, 0)?;
                n.name = r.owned()?;
                Some(())
            }
            _ => r.skip(),
        })?;
        Some(n)
    }

    fn volume_mount(&mut self) -> Option<VolumeMount> {
        let (mut m, mut seen) = (VolumeMount::default(), 0);
        self.object(|r, key| match key {
            "mountPath" => {
                once(&mut seen, 0)?;
                m.mount_path = r.owned()?;
                Some(())
            }
            _ => r.skip(),
        })?;
        Some(m)
    }
}
