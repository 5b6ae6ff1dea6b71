//! Inputs: `-f` arguments expanded (directories to their manifest files, as `kubectl apply -f`
//! does) and read, and a source's text split into documents — a JSON stream when it starts with
//! `{` or `[`, else a YAML stream (merge keys applied, empty documents dropped).

use std::path::{Path, PathBuf};

use serde::Deserialize as _;
use serde_json::Value;

use super::{Document, InjectError, Location};

/// One input's name (its path, or `<stdin>`) and text.
#[derive(Debug, Clone)]
pub struct Input {
    /// How errors and reports name it.
    pub name: String,
    /// Its content.
    pub text: String,
}

/// The name stdin gets in messages.
pub const STDIN: &str = "<stdin>";

/// Extensions read from directories.
const EXTENSIONS: [&str; 3] = ["yaml", "yml", "json"];

/// What one `-f` argument names: stdin, or files in the order they are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `-`.
    Stdin,
    /// A file (given, or found in a directory).
    File(PathBuf),
}

/// Expands `-f` arguments: `-` is stdin, a directory is its manifest files in name order
/// (its subdirectories too with `recursive`), anything else a file. A directory without any
/// manifest file is an error, as with kubectl.
pub fn expand(args: &[String], recursive: bool) -> Result<Vec<Source>, InjectError> {
    let mut out = Vec::new();
    for arg in args {
        if arg == "-" {
            out.push(Source::Stdin);
            continue;
        }
        let path = Path::new(arg);
        if path.is_dir() {
            let before = out.len();
            walk(path, recursive, &mut out)?;
            if out.len() == before {
                return Err(InjectError::EmptyDirectory { path: arg.clone() });
            }
        } else {
            out.push(Source::File(path.to_path_buf()));
        }
    }
    Ok(out)
}

fn walk(dir: &Path, recursive: bool, out: &mut Vec<Source>) -> Result<(), InjectError> {
    let read_err = |source| InjectError::Read {
        path: dir.display().to_string(),
        source,
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(read_err)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(read_err)?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            if recursive {
                walk(&path, recursive, out)?;
            }
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| EXTENSIONS.contains(&e))
        {
            out.push(Source::File(path));
        }
    }
    Ok(())
}

/// Reads a file as UTF-8 text.
pub fn read_file(path: &Path) -> Result<Input, InjectError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| InjectError::Read {
        path: name.clone(),
        source,
    })?;
    text(name, bytes)
}

/// Names bytes read from somewhere; they must be UTF-8.
pub fn text(name: String, bytes: Vec<u8>) -> Result<Input, InjectError> {
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Input { name, text }),
        Err(e) => Err(InjectError::Parse {
            at: Location::source(&name),
            reason: format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        }),
    }
}

/// The documents of one input, numbered from 1. Empty documents (only comments, or a stray
/// `---`) are dropped, as kubectl does; anything that is not a mapping is an error.
pub fn documents(input: &Input) -> Result<Vec<Document>, InjectError> {
    let first = input.text.trim_start().chars().next();
    let values = if matches!(first, Some('{' | '[')) {
        json_stream(input)?
    } else {
        yaml_stream(input)?
    };
    let mut docs = Vec::with_capacity(values.len());
    for (i, value) in values.into_iter().enumerate() {
        let at = Location::document(&input.name, i + 1);
        match value {
            Value::Null => {}
            Value::Object(_) => docs.push(Document { at, value }),
            other => {
                let what = match other {
                    Value::Array(_) => "a sequence",
                    _ => "a scalar",
                };
                return Err(InjectError::Parse {
                    at,
                    reason: format!("{what}, not a Kubernetes object (a mapping)"),
                });
            }
        }
    }
    Ok(docs)
}

fn json_stream(input: &Input) -> Result<Vec<Value>, InjectError> {
    let mut out = Vec::new();
    for value in serde_json::Deserializer::from_str(&input.text).into_iter::<Value>() {
        let value = value.map_err(|e| InjectError::Parse {
            at: Location::document(&input.name, out.len() + 1),
            reason: format!("invalid JSON: {e}"),
        })?;
        // A top-level array is a list of objects (as `kubectl apply` reads a JSON array).
        match value {
            Value::Array(items) => out.extend(items),
            v => out.push(v),
        }
    }
    Ok(out)
}

fn yaml_stream(input: &Input) -> Result<Vec<Value>, InjectError> {
    let mut out = Vec::new();
    for de in yaml_serde::Deserializer::from_str(&input.text) {
        let at = Location::document(&input.name, out.len() + 1);
        let err = |reason: String| InjectError::Parse {
            at: at.clone(),
            reason,
        };
        let mut value = yaml_serde::Value::deserialize(de).map_err(|e| err(format!("invalid YAML: {e}")))?;
        value
            .apply_merge()
            .map_err(|e| err(format!("invalid YAML merge key: {e}")))?;
        let json = serde_json::to_value(&value)
            .map_err(|e| err(format!("not representable as JSON (Kubernetes objects are): {e}")))?;
        out.push(json);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(text: &str) -> Result<Vec<Document>, InjectError> {
        documents(&Input {
            name: "in.yaml".into(),
            text: text.into(),
        })
    }

    #[test]
    fn yaml_streams_split_merge_and_drop_empty_documents() {
        let d =
            docs("---\n# only a comment\n---\na: &x {k: 1}\nb:\n  <<: *x\n  j: 2\n---\n---\nc: 3\n").unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].value["b"], serde_json::json!({"k": 1, "j": 2}));
        assert_eq!(d[0].at.to_string(), "in.yaml, document 2");
        assert_eq!(d[1].at.to_string(), "in.yaml, document 4");
    }

    #[test]
    fn json_streams_and_arrays() {
        let d = docs("{\"a\":1}\n{\"b\":2}").unwrap();
        assert_eq!(d.len(), 2);
        let d = docs(" [{\"a\":1},{\"b\":2}]").unwrap();
        assert_eq!(d[1].value["b"], 2);
    }

    #[test]
    fn errors_name_the_document() {
        let e = docs("a: 1\n---\nb: [\n").unwrap_err().to_string();
        assert!(e.starts_with("in.yaml, document 2: invalid YAML"), "{e}");
        let e = docs("a: 1\n---\n- x\n").unwrap_err().to_string();
        assert_eq!(
            e,
            "in.yaml, document 2: a sequence, not a Kubernetes object (a mapping)"
        );
        let e = docs("{\"a\":1}{\"b\":").unwrap_err().to_string();
        assert!(e.starts_with("in.yaml, document 2: invalid JSON"), "{e}");
        let e = docs("a: 1\na: 2\n").unwrap_err().to_string();
        assert!(e.contains("document 1") && e.contains("duplicate"), "{e}");
        let e = text("x".into(), vec![b'a', 0xff]).unwrap_err().to_string();
        assert_eq!(e, "x: not UTF-8 text (byte 1)");
    }

    #[test]
    fn directories_expand_to_manifests_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        std::fs::create_dir(p("sub")).unwrap();
        for f in ["b.yaml", "a.json", "c.txt", "sub/d.yml"] {
            std::fs::write(p(f), "").unwrap();
        }
        let arg = dir.path().display().to_string();
        let flat = expand(std::slice::from_ref(&arg), false).unwrap();
        assert_eq!(flat, [Source::File(p("a.json")), Source::File(p("b.yaml"))]);
        let deep = expand(&[arg, "-".into()], true).unwrap();
        assert_eq!(deep.len(), 4);
        assert_eq!(deep[2], Source::File(p("sub/d.yml")));
        assert_eq!(deep[3], Source::Stdin);
        let empty = p("sub2");
        std::fs::create_dir(&empty).unwrap();
        let e = expand(&[empty.display().to_string()], false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no .yaml, .yml or .json file"), "{e}");
    }
}
