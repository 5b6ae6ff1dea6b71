//! Framing tests: partial lines, CRLF, invalid UTF-8, JSON escaping, long lines, generations.

use super::*;

fn frame(format: LogFormat, chunks: &[(u64, &[u8])], finish_gen: Option<u64>) -> String {
    let mut f = Framer::new(Stream::Stdout, format);
    let mut out = Vec::new();
    for (g, c) in chunks {
        f.push(*g, c, &mut out);
    }
    if let Some(g) = finish_gen {
        f.finish(g, &mut out);
    }
    String::from_utf8(out).expect("framed output is UTF-8 in these tests")
}

#[test]
fn log_format_parses_and_rejects() {
    assert_eq!("inherit".parse::<LogFormat>(), Ok(LogFormat::Inherit));
    assert_eq!("prefix".parse::<LogFormat>(), Ok(LogFormat::Prefix));
    assert_eq!("json".parse::<LogFormat>(), Ok(LogFormat::Json));
    let e = "JSON ".parse::<LogFormat>().unwrap_err();
    assert!(
        e.contains("\"JSON \"") && e.contains("inherit, prefix or json"),
        "{e}"
    );
    assert_eq!(LogFormat::default(), LogFormat::Inherit);
    assert_eq!(LogFormat::Json.to_string(), "json");
}

#[test]
fn prefix_frames_complete_lines_and_holds_partial_ones() {
    let got = frame(
        LogFormat::Prefix,
        &[(3, b"hel"), (3, b"lo\nwor"), (3, b"ld\n\npart")],
        None,
    );
    assert_eq!(
        got,
        "[gen 3 stdout] hello\n[gen 3 stdout] world\n[gen 3 stdout] \n"
    );
    let got = frame(
        LogFormat::Prefix,
        &[(3, b"hel"), (3, b"lo\nwor"), (3, b"ld\n\npart")],
        Some(3),
    );
    assert_eq!(
        got,
        "[gen 3 stdout] hello\n[gen 3 stdout] world\n[gen 3 stdout] \n[gen 3 stdout] part\n"
    );
}

#[test]
fn stderr_stream_is_named() {
    let mut f = Framer::new(Stream::Stderr, LogFormat::Json);
    let mut out = Vec::new();
    f.push(1, b"oops\n", &mut out);
    assert_eq!(out, b"{\"gen\":1,\"stream\":\"stderr\",\"line\":\"oops\"}\n");
}

#[test]
fn crlf_becomes_lf_and_lone_cr_is_kept() {
    let got = frame(LogFormat::Prefix, &[(1, b"a\r\nb\r"), (1, b"\nc\rd\n")], None);
    assert_eq!(got, "[gen 1 stdout] a\n[gen 1 stdout] b\n[gen 1 stdout] c\rd\n");
    let got = frame(LogFormat::Json, &[(1, b"a\r\n")], None);
    assert_eq!(got, "{\"gen\":1,\"stream\":\"stdout\",\"line\":\"a\"}\n");
}

#[test]
fn json_escapes_quotes_backslashes_and_controls() {
    let got = frame(
        LogFormat::Json,
        &[(7, b"q\"b\\t\tn\x01\x1b[0m\x08\x0c\x7f \xe2\x9c\x93\n")],
        None,
    );
    let line = "q\\\"b\\\\t\\tn\\u0001\\u001b[0m\\b\\f\u{7f} \u{2713}";
    assert_eq!(
        got,
        format!("{{\"gen\":7,\"stream\":\"stdout\",\"line\":\"{line}\"}}\n")
    );
}

#[test]
fn invalid_utf8_is_replaced_in_json_and_kept_in_prefix() {
    let got = frame(LogFormat::Json, &[(1, b"a\xffb\xc3\n")], None);
    assert_eq!(
        got,
        "{\"gen\":1,\"stream\":\"stdout\",\"line\":\"a\u{fffd}b\u{fffd}\"}\n"
    );
    let mut f = Framer::new(Stream::Stdout, LogFormat::Prefix);
    let mut out = Vec::new();
    f.push(1, b"a\xffb\n", &mut out);
    assert_eq!(out, b"[gen 1 stdout] a\xffb\n");
}

#[test]
fn utf8_sequence_split_across_pushes_is_joined() {
    // "✓" = e2 9c 93 arriving in two reads must not become two replacement characters.
    let got = frame(LogFormat::Json, &[(1, b"x\xe2\x9c"), (1, b"\x93\n")], None);
    assert_eq!(got, "{\"gen\":1,\"stream\":\"stdout\",\"line\":\"x\u{2713}\"}\n");
}

#[test]
fn a_new_generation_flushes_the_previous_partial_line() {
    let got = frame(LogFormat::Prefix, &[(1, b"old tail"), (2, b"new\n")], None);
    assert_eq!(got, "[gen 1 stdout] old tail\n[gen 2 stdout] new\n");
}

#[test]
fn finish_with_nothing_pending_emits_nothing() {
    assert_eq!(
        frame(LogFormat::Json, &[(1, b"done\n")], Some(1)),
        frame(LogFormat::Json, &[(1, b"done\n")], None)
    );
    assert_eq!(frame(LogFormat::Prefix, &[], Some(1)), "");
}

#[test]
fn long_lines_are_cut_into_bounded_partial_pieces() {
    let line = vec![b'x'; MAX_LINE * 2 + 10];
    let mut input = line.clone();
    input.push(b'\n');
    let mut f = Framer::new(Stream::Stdout, LogFormat::Prefix);
    let mut out = Vec::new();
    for chunk in input.chunks(1000) {
        f.push(5, chunk, &mut out);
        assert!(f.pending.len() <= MAX_LINE, "buffer grew to {}", f.pending.len());
    }
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        3,
        "{}",
        lines
            .iter()
            .map(|l| l.len())
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    let body = |l: &str, tag: &str| l.strip_prefix(tag).unwrap_or_else(|| panic!("{tag}")).len();
    assert_eq!(body(lines[0], "[gen 5 stdout partial] "), MAX_LINE);
    assert_eq!(body(lines[1], "[gen 5 stdout partial] "), MAX_LINE);
    assert_eq!(body(lines[2], "[gen 5 stdout] "), 10);
}

#[test]
fn long_line_in_one_push_and_json_partial_flag() {
    let mut input = vec![b'y'; MAX_LINE + 1];
    input.extend_from_slice(b"\nshort\n");
    let got = frame(LogFormat::Json, &[(2, &input)], None);
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(lines.len(), 3);
    assert!(lines[0].starts_with("{\"gen\":2,\"stream\":\"stdout\",\"partial\":true,\"line\":\"yyy"));
    assert_eq!(lines[1], "{\"gen\":2,\"stream\":\"stdout\",\"line\":\"y\"}");
    assert_eq!(lines[2], "{\"gen\":2,\"stream\":\"stdout\",\"line\":\"short\"}");
}

#[test]
fn long_line_cut_does_not_split_a_utf8_character() {
    // MAX_LINE - 1 ASCII bytes then "✓": the 3-byte character straddles the limit.
    let mut input = vec![b'a'; MAX_LINE - 1];
    input.extend_from_slice("✓end\n".as_bytes());
    let got = frame(LogFormat::Json, &[(1, &input)], None);
    assert!(!got.contains('\u{fffd}'), "a character was split");
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[1].ends_with("\"line\":\"✓end\"}"), "{}", lines[1]);
}

#[test]
fn inherit_passes_bytes_through() {
    let got = frame(LogFormat::Inherit, &[(1, b"raw\r\npartial")], Some(1));
    assert_eq!(got, "raw\r\npartial");
}

#[test]
fn every_line_survives_random_chunking() {
    let mut input = Vec::new();
    for i in 0..2000 {
        input.extend_from_slice(format!("line {i} {}\n", "z".repeat(i % 97)).as_bytes());
    }
    let mut f = Framer::new(Stream::Stdout, LogFormat::Json);
    let mut out = Vec::new();
    let mut seed = 12345u32;
    let mut rest: &[u8] = &input;
    while !rest.is_empty() {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let n = ((seed >> 16) as usize % 300 + 1).min(rest.len());
        f.push(9, &rest[..n], &mut out);
        rest = &rest[n..];
    }
    f.finish(9, &mut out);
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2000);
    for (i, l) in lines.iter().enumerate() {
        let want = format!(
            "{{\"gen\":9,\"stream\":\"stdout\",\"line\":\"line {i} {}\"}}",
            "z".repeat(i % 97)
        );
        assert_eq!(*l, want);
    }
}
