//! Opt-in offline. In a cluster the MutatingWebhookConfiguration's selectors decide which pods
//! reach the webhook (docs/webhook.md, "Opt-in and opt-out"): namespace labelled
//! `respawn.dev/inject=enabled` and pod not labelled `disabled`, or pod labelled `enabled`.
//! Offline the namespace's labels are not visible, so a namespace counts as enabled when
//! `--enabled-namespace` names it, when a Namespace document of the same input carries the label,
//! or for every namespace with `--all`. What is selected then goes through the webhook's own
//! decision, which still skips system namespaces, opted-out pods and injected ones.

use std::collections::BTreeSet;

use serde_json::Value;

use super::Document;
use super::kinds;
use crate::decision::annotations::INJECT_LABEL;

/// Which pods the offline run treats as reaching the webhook.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// `--all`: every namespace counts as enabled.
    pub all: bool,
    /// Namespaces that count as labelled `enabled`.
    pub namespaces: BTreeSet<String>,
}

/// Why a pod template is not selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotSelected {
    /// Labelled `respawn.dev/inject=disabled`.
    OptedOut,
    /// Neither the pod nor its namespace opted in.
    NotOptedIn,
}

impl Selection {
    /// Adds the namespaces of `Namespace` documents (in Lists too) labelled enabled.
    pub fn add_namespace_documents(&mut self, docs: &[Document]) {
        fn walk(v: &Value, out: &mut BTreeSet<String>) {
            if let Some(items) = v.get("items").filter(|_| kinds::kind(v).ends_with("List")) {
                items.as_array().into_iter().flatten().for_each(|i| walk(i, out));
                return;
            }
            let is_namespace = kinds::kind(v) == "Namespace" && v.get("apiVersion") == Some(&"v1".into());
            let meta = v.get("metadata");
            let enabled = meta
                .and_then(|m| m.get("labels"))
                .and_then(|l| l.get(INJECT_LABEL))
                .is_some_and(|l| l == "enabled");
            if let (true, true, Some(name)) = (
                is_namespace,
                enabled,
                meta.and_then(|m| m.get("name")).and_then(Value::as_str),
            ) {
                out.insert(name.to_string());
            }
        }
        for d in docs {
            walk(&d.value, &mut self.namespaces);
        }
    }

    /// Whether a pod with this `respawn.dev/inject` label in `namespace` reaches the webhook,
    /// as the two entries of the webhook configuration decide it.
    pub fn selects(&self, label: Option<&str>, namespace: &str) -> Result<(), NotSelected> {
        let namespace_enabled = self.all || self.namespaces.contains(namespace);
        match label {
            Some("enabled") => Ok(()),
            Some("disabled") => Err(NotSelected::OptedOut),
            // Any other value reaches the webhook through the namespace entry only, which then
            // skips it with a warning (the webhook's own rule).
            _ if namespace_enabled => Ok(()),
            _ => Err(NotSelected::NotOptedIn),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::offline::Location;
    use serde_json::json;

    #[test]
    fn the_webhook_configurations_rule() {
        let mut s = Selection::default();
        assert_eq!(s.selects(Some("enabled"), "a"), Ok(()));
        assert_eq!(s.selects(None, "a"), Err(NotSelected::NotOptedIn));
        assert_eq!(s.selects(Some("maybe"), "a"), Err(NotSelected::NotOptedIn));
        s.namespaces.insert("a".into());
        assert_eq!(s.selects(None, "a"), Ok(()));
        assert_eq!(
            s.selects(Some("maybe"), "a"),
            Ok(()),
            "reaches the webhook, which warns"
        );
        assert_eq!(s.selects(Some("disabled"), "a"), Err(NotSelected::OptedOut));
        assert_eq!(s.selects(None, "b"), Err(NotSelected::NotOptedIn));
        let all = Selection {
            all: true,
            ..Default::default()
        };
        assert_eq!(all.selects(None, "b"), Ok(()));
        assert_eq!(all.selects(Some("disabled"), "b"), Err(NotSelected::OptedOut));
    }

    #[test]
    fn namespace_documents_enable_their_namespace() {
        let doc = |value| Document {
            at: Location::document("x", 1),
            value,
        };
        let label = json!({INJECT_LABEL: "enabled"});
        let docs = [
            doc(
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dev", "labels": label}}),
            ),
            doc(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "off"}})),
            doc(json!({"apiVersion": "v1", "kind": "List", "items": [
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "listed", "labels": label}}
            ]})),
            doc(
                json!({"apiVersion": "example.com/v1", "kind": "Namespace", "metadata": {"name": "crd", "labels": label}}),
            ),
        ];
        let mut s = Selection::default();
        s.add_namespace_documents(&docs);
        assert_eq!(s.namespaces.into_iter().collect::<Vec<_>>(), ["dev", "listed"]);
    }
}
