//! What `respawn-webhook inject` writes: the documents as one YAML stream on stdout (`---`
//! between documents; keys sorted, as `kubectl get -o yaml` writes them), and on stderr one line
//! per pod (template) and every warning.
//!
//! `yaml_serde` writes YAML 1.2, where `yes`, `on`, `n` or `1_000` are plain strings; kubectl,
//! Argo CD and Flux read YAML 1.1 (go-yaml), where they are booleans and numbers. Such strings
//! (keys included) are therefore single-quoted: yaml_serde writes them as placeholders it always
//! quotes (digit strings), which are then replaced; the result is read back and must equal the
//! document.

use serde_json::Value;

use super::{Document, InjectError, Outcome, Report};

/// The documents as a YAML stream.
pub fn yaml(documents: &[Document]) -> Result<String, InjectError> {
    let mut out = String::new();
    for (i, d) in documents.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        let text = document(&d.value).map_err(|reason| InjectError::Write {
            at: d.at.clone(),
            reason,
        })?;
        out.push_str(&text);
    }
    Ok(out)
}

/// One document, YAML 1.1 readers' special strings quoted.
fn document(value: &Value) -> Result<String, String> {
    let json = serde_json::to_string(value).map_err(|e| e.to_string())?;
    let prefix = (0u64..)
        .map(|k| format!("9{:08}", 13_579_246 + k * 7_919))
        .find(|p| !json.contains(p.as_str()))
        .expect("some prefix is absent from a finite document");
    let mut quoted = Vec::new();
    let marked = mark(value, &prefix, &mut quoted);
    let mut text = yaml_serde::to_string(&marked).map_err(|e| e.to_string())?;
    for (i, original) in quoted.iter().enumerate() {
        let placeholder = format!("'{prefix}{i:06}'");
        text = text.replace(&placeholder, &format!("'{}'", original.replace('\'', "''")));
    }
    let back: Value =
        yaml_serde::from_str(&text).map_err(|e| format!("the YAML written does not read back: {e}"))?;
    if back != *value {
        return Err("the YAML written does not read back as the same object".into());
    }
    Ok(text)
}

/// `value` with every string a YAML 1.1 reader would not read as that string replaced by a
/// numbered placeholder (the originals pushed to `quoted`).
fn mark(value: &Value, prefix: &str, quoted: &mut Vec<String>) -> Value {
    let mut str_or_mark = |s: &String| {
        if yaml11_special(s) {
            quoted.push(s.clone());
            format!("{prefix}{:06}", quoted.len() - 1)
        } else {
            s.clone()
        }
    };
    match value {
        Value::String(s) => Value::String(str_or_mark(s)),
        Value::Array(items) => Value::Array(items.iter().map(|v| mark(v, prefix, quoted)).collect()),
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (k, v) in map {
                let key = if yaml11_special(k) {
                    quoted.push(k.clone());
                    format!("{prefix}{:06}", quoted.len() - 1)
                } else {
                    k.clone()
                };
                out.insert(key, mark(v, prefix, quoted));
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// Strings a YAML 1.1 reader takes for a boolean, null or number when unquoted: the boolean
/// words (`y`, `yes`, `on`, `off`, ...), `~`/`null`, and anything made only of digits and number
/// punctuation (`1_000`, `0b101`, `1:20`, `0x1F`). Quoting more than needed is harmless.
fn yaml11_special(s: &str) -> bool {
    const WORDS: [&str; 28] = [
        "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE", "false", "False",
        "FALSE", "on", "On", "ON", "off", "Off", "OFF", "~", "null", "Null", "NULL", ".inf", ".nan",
    ];
    let numeric = |c: char| c.is_ascii_hexdigit() || "+-._:xXoObB".contains(c);
    WORDS.contains(&s) || (s.chars().any(|c| c.is_ascii_digit()) && s.chars().all(numeric))
}

/// The stderr lines for the reports: warnings always, the per-pod line unless `quiet`.
pub fn report_lines(reports: &[Report], quiet: bool) -> Vec<String> {
    let mut lines = Vec::new();
    for r in reports {
        let (line, warnings) = match &r.outcome {
            Outcome::Injected { containers, warnings } => (
                format!(
                    "{} ({}): injected (containers: {})",
                    r.at,
                    r.object,
                    containers.join(", ")
                ),
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
        for quoted in ["'on': 'yes'", "'n': '0755'", "t: 'true'"] {
            assert!(text.contains(quoted), "{quoted} in {text}");
        }
    }

    #[test]
    fn yaml_1_1_booleans_and_numbers_are_quoted_keys_included() {
        let value = json!({"on": ["y", "N", "off", "1_000", "0b101", "1:20", "~", "it's", "plain", "v1.2-rc"], "yes": "o'n"});
        let text = document(&value).unwrap();
        assert_eq!(
            text,
            "'on':\n- 'y'\n- 'N'\n- 'off'\n- '1_000'\n- '0b101'\n- '1:20'\n- '~'\n- it's\n- plain\n- v1.2-rc\n'yes': o'n\n"
        );
        assert!(yaml11_special("1e3") && !yaml11_special("deadbeef") && !yaml11_special("sha256:ab12"));
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
