//! Table tests for the dotenv parser and the file loader.

use super::*;

fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn valid_syntax_table() {
    let cases: &[(&str, &[(&str, &str)])] = &[
        ("", &[]),
        ("\n\n   \n\t\n", &[]),
        ("# comment\n  # indented comment\n", &[]),
        ("A=1", &[("A", "1")]),
        ("A=1\nB=2\n", &[("A", "1"), ("B", "2")]),
        ("export A=1", &[("A", "1")]),
        ("export\tA=1", &[("A", "1")]),
        ("exported=1", &[("exported", "1")]),
        ("export=1", &[("export", "1")]),
        ("  A = spaced value  ", &[("A", "spaced value")]),
        ("A=", &[("A", "")]),
        ("A=''", &[("A", "")]),
        ("A=\"\"", &[("A", "")]),
        ("A=value # comment", &[("A", "value")]),
        ("A=value\t# comment", &[("A", "value")]),
        ("A=val#ue", &[("A", "val#ue")]),
        ("A=#notacomment", &[("A", "#notacomment")]),
        ("A= # only comment", &[("A", "")]),
        ("A=a=b=c", &[("A", "a=b=c")]),
        ("A=$HOME ${X}", &[("A", "$HOME ${X}")]),
        ("A=it's", &[("A", "it's")]),
        ("A='single # not comment'", &[("A", "single # not comment")]),
        ("A='lit \\n $X \"q\"'", &[("A", "lit \\n $X \"q\"")]),
        ("A='multi\nline'", &[("A", "multi\nline")]),
        (
            "A=\"esc \\n \\t \\\" \\\\ \\$ \\q\"",
            &[("A", "esc \n \t \" \\ $ \\q")],
        ),
        ("A=\"multi\nline\"\nB=2", &[("A", "multi\nline"), ("B", "2")]),
        ("A=\"x\" # comment", &[("A", "x")]),
        ("A=\"x\"   ", &[("A", "x")]),
        ("A=\"it's\"", &[("A", "it's")]),
        ("A=1\r\nB=2\r\n", &[("A", "1"), ("B", "2")]),
        (
            "A=\"l1\r\nl2\"\r\nB=\"\\r\\n\"\r\n",
            &[("A", "l1\nl2"), ("B", "\r\n")],
        ),
        ("\u{feff}A=1", &[("A", "1")]),
        ("A=1\nA=2\nB=3", &[("A", "2"), ("B", "3")]),
        ("_A.b-c=1", &[("_A.b-c", "1")]),
        ("A=ünïcødé ✓", &[("A", "ünïcødé ✓")]),
        ("A=\"#hash\"", &[("A", "#hash")]),
    ];
    for (text, want) in cases {
        match parse_dotenv(text) {
            Ok(got) => assert_eq!(got, kv(want), "input {text:?}"),
            Err(e) => panic!("input {text:?}: unexpected error {e}"),
        }
    }
}

#[test]
fn malformed_lines_report_their_line_number() {
    let cases: &[(&str, usize, &str)] = &[
        ("NOEQUALS", 1, "expected KEY=value"),
        ("A=1\n\n# c\nBAD LINE\n", 4, "invalid character in key"),
        ("=value", 1, "missing key"),
        ("1A=x", 1, "must start with a letter"),
        ("A B=1", 1, "invalid character in key"),
        ("A=1\nB=\"open\nstill\nopen", 2, "unterminated \" quote"),
        ("A='open", 1, "unterminated ' quote"),
        ("A=\"x\" trailing", 1, "after closing \" quote"),
        ("A=\"two\nlines\" junk\nB=1", 2, "after closing \" quote"),
        ("A=\"two\nlines\"\nB=1\nC D", 4, "invalid character in key"),
        ("A=\"nul\\\0\"", 1, "NUL"),
        ("export", 1, "expected KEY=value"),
        ("A=1\r\nBAD\r\n", 2, "expected KEY=value"),
        ("KEY:value", 1, "invalid character in key"),
    ];
    for (text, line, msg) in cases {
        match parse_dotenv(text) {
            Ok(v) => panic!("input {text:?}: expected an error, got {v:?}"),
            Err(e) => {
                assert_eq!(e.line, *line, "input {text:?}: {e}");
                assert!(
                    e.message.contains(msg),
                    "input {text:?}: message {:?} lacks {msg:?}",
                    e.message
                );
                assert!(e.to_string().starts_with(&format!("line {line}: ")), "{e}");
            }
        }
    }
}

#[test]
fn load_env_file_absent_is_none() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(load_env_file(&dir.path().join("missing.env")).unwrap(), None);
}

#[test]
fn load_env_file_reads_and_names_the_file_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".env");
    std::fs::write(&path, "export A=1\nB='two'\n").unwrap();
    assert_eq!(
        load_env_file(&path).unwrap(),
        Some(kv(&[("A", "1"), ("B", "two")]))
    );

    std::fs::write(&path, "A=1\nB\n").unwrap();
    let e = load_env_file(&path).unwrap_err();
    assert_eq!(e.line, 2);
    assert_eq!(e.path.as_deref(), Some(path.as_path()));
    assert!(
        e.to_string()
            .starts_with(&format!("{}:2: expected KEY=value", path.display())),
        "{e}"
    );

    std::fs::write(&path, b"A=1\nB=\xff\xfe\n").unwrap();
    let e = load_env_file(&path).unwrap_err();
    assert_eq!((e.line, e.message.as_str()), (2, "invalid UTF-8"));
}

#[test]
fn load_env_file_io_errors_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where a file is expected: read fails with EISDIR, not "absent".
    let e = load_env_file(dir.path()).unwrap_err();
    assert_eq!(e.line, 0);
    assert!(e.message.starts_with("cannot read:"), "{e}");
    assert!(!e.to_string().contains(":0:"), "{e}");
}
