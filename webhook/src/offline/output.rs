//! What `respawn-webhook inject` writes: the documents as one YAML stream on stdout (`---`
//! between documents; keys sorted, as `kubectl get -o yaml` writes them), and on stderr one line
//! per pod (template) and every warning.

use super::{Document, InjectError, Outcome, Report};

/// The documents as a YAML stream.
pub fn yaml(documents: &[Document]) -> Result<String, InjectError> {
    let mut out = String::new();
    for (i, d) in documents.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        let text = yaml_serde::to_string(&d.value).map_err(|e| InjectError::Write {
            at: d.at.clone(),
            reason: e.to_string(),
        })?;
        out.push_str(&text);
    }
    Ok(out)
}

/// The stderr lines for the reports: warnings always, the per-pod line unless `quiet`.
pub fn report_lines(reports: &[Report], quiet: bool) -> Vec<String> {
    let mut lines = Vec::new();
    for r in reports {
        let (line, warnings) = match &r.outcome {
            Outcome::Injected { containers, warnings } => (
                format!("{} ({}): injected (containers: {})", r.at, r.object, containers.join(", ")),
                warnings,
            ),
            Outcome::Unchanged { why, warnings } => {
                (format!("{} ({}): unchanged: {why}", r.at, r.object), warnings)
            }
        };
        if !quiet {
            lines.push(line);
        }
        for w in warnings {
            lines.push(format!("warning: {} ({}): {w}", r.at, r.object));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::offline::Location;
    use serde_json::json;

    #[test]
    fn a_stream_with_separators_and_quoted_ambiguous_strings() {
        let docs = [
            Document {
                at: Location::document("a", 1),
                value: json!({"kind": "ConfigMap", "data": {"on": "yes", "n": "0755", "t": "true", "multi": "a\nb\n"}}),
            },
            Document {
                at: Location::document("a", 2),
                value: json!({"kind": "Service"}),
            },
        ];
        let text = yaml(&docs).unwrap();
        assert!(text.contains("\n---\nkind: Service\n"), "{text}");
        // Strings stay strings when read back (YAML 1.1 readers included: "yes", "on").
        let back: Vec<serde_json::Value> = yaml_serde::Deserializer::from_str(&text)
            .map(|d| serde::Deserialize::deserialize(d).unwrap())
            .collect();
        assert_eq!(back, [docs[0].value.clone(), docs[1].value.clone()]);
        assert!(text.contains("'yes'") || text.contains("\"yes\""), "{text}");
    }

    #[test]
    fn reports_and_warnings() {
        let at = Location::document("k8s/web.yaml", 2);
        let reports = [
            Report {
                at: at.clone(),
                object: "Deployment dev/web".into(),
                outcome: Outcome::Injected {
                    containers: vec!["web".into(), "side".into()],
                    warnings: vec!["respawn: w".into()],
                },
            },
            Report {
                at: at.item(3),
                object: "Pod p".into(),
                outcome: Outcome::Unchanged {
                    why: "already injected".into(),
                    warnings: vec![],
                },
            },
        ];
        assert_eq!(
            report_lines(&reports, false),
            [
                "k8s/web.yaml, document 2 (Deployment dev/web): injected (containers: web, side)",
                "warning: k8s/web.yaml, document 2 (Deployment dev/web): respawn: w",
                "k8s/web.yaml, document 2, item 3 (Pod p): unchanged: already injected",
            ]
        );
        assert_eq!(
            report_lines(&reports, true),
            ["warning: k8s/web.yaml, document 2 (Deployment dev/web): respawn: w"]
        );
    }
}
