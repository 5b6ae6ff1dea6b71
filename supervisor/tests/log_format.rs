//! `--log-format prefix|json` frames each line with generation and stream; no line is lost or
//! split across restarts, even under heavy output.

mod common;
use common::*;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

#[test]
fn prefix_and_json_frame_lines() {
    let s = "echo out; echo err >&2; printf 'no newline'";
    let out = run(&mut pid1(&["--log-format", "prefix", "--", "sh", "-c", s]), 10);
    assert_eq!(code(&out), 0);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "[gen 1 stdout] out\n[gen 1 stdout] no newline\n"
    );
    assert!(stderr(&out).contains("[gen 1 stderr] err\n"), "{}", stderr(&out));
    let out = run(
        &mut pid1(&["--log-format", "json", "--", "sh", "-c", "echo 'say \"hi\"'"]),
        10,
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\"gen\":1,\"stream\":\"stdout\",\"line\":\"say \\\"hi\\\"\"}\n"
    );
}

/// Reads framed lines `[gen G stdout] line N`; asserts that within each generation N counts up
/// from 0 without a gap or a torn line; returns the line count per generation. `done(g, n)`
/// is called for every line.
fn check_lines(stdout: std::process::ChildStdout, mut done: impl FnMut(u64, u64)) -> BTreeMap<u64, u64> {
    let mut gens: BTreeMap<u64, u64> = BTreeMap::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let rest = line
            .strip_prefix("[gen ")
            .unwrap_or_else(|| panic!("unframed line {line:?}"));
        let (g, rest) = rest
            .split_once(" stdout] line ")
            .unwrap_or_else(|| panic!("torn line {line:?}"));
        let g: u64 = g.parse().unwrap();
        let n: u64 = rest.parse().unwrap_or_else(|_| panic!("torn line {line:?}"));
        let next = gens.entry(g).or_insert(0);
        assert_eq!(
            n, *next,
            "generation {g}: line {n} arrived when {next} was due (lost or reordered)"
        );
        *next += 1;
        done(g, n);
    }
    gens
}

#[test]
fn a_thousand_restarts_under_heavy_output_lose_no_line() {
    // Each generation writes exactly 300 lines as fast as it can, then exits; --on-exit restart
    // with no backoff starts the next one at once. Every line of every generation must arrive.
    const LINES: u64 = 300;
    let s = format!("i=0; while [ $i -lt {LINES} ]; do echo \"line $i\"; i=$((i+1)); done");
    let args = [
        "--log-format",
        "prefix",
        "--on-exit",
        "restart",
        "--backoff-min",
        "0",
        "--backoff-max",
        "0",
    ];
    let mut cmd = plain(&args);
    cmd.args([
        "--control-socket",
        "none",
        "--trigger-file",
        "none",
        "--",
        "sh",
        "-c",
        &s,
    ]);
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        check_lines(stdout, |g, n| {
            if g == 1000 && n == LINES - 1 {
                let _ = tx.send(());
            }
        })
    });
    let got = rx.recv_timeout(std::time::Duration::from_secs(100));
    signal(child.id(), "TERM");
    child.wait().unwrap();
    let gens = reader.join().expect("reader");
    assert!(
        got.is_ok(),
        "generation 1000 never completed; saw {} generations",
        gens.len()
    );
    for g in 1..=1000 {
        assert_eq!(gens.get(&g), Some(&LINES), "generation {g} lost lines");
    }
}

#[test]
fn killed_generations_lose_no_line() {
    // Restarts by `respawn restart` while the child writes without pause: the lines each
    // generation wrote before its SIGTERM all arrive, in order, whole.
    let sock = format!("@respawn-test-logs-{}", std::process::id());
    let s = "i=0; while :; do echo \"line $i\"; i=$((i+1)); done";
    let mut cmd = plain(&[
        "--log-format",
        "prefix",
        "--control-socket",
        &sock,
        "--trigger-file",
        "none",
    ]);
    let mut child = cmd
        .args(["--", "sh", "-c", s])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || check_lines(stdout, |_, _| {}));
    // The supervisor binds its socket right after it starts: retry the very first request.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while code(&run(&mut plain(&["status", "--control-socket", &sock]), 10)) != 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "supervisor never listened on {sock}"
        );
        settle(10);
    }
    for i in 0..200 {
        let out = run(&mut plain(&["restart", "--control-socket", &sock]), 30);
        assert_eq!(code(&out), 0, "restart {i}: {}", stderr(&out));
    }
    let status = run(&mut plain(&["status", "--control-socket", &sock]), 10);
    assert!(String::from_utf8_lossy(&status.stdout).contains("generation: 201"));
    signal(child.id(), "TERM");
    assert_eq!(child.wait().unwrap().code(), Some(143));
    let gens = reader.join().expect("reader");
    let total: u64 = gens.values().sum();
    assert!(total > 1000, "no heavy output ({total} lines)");
}

#[test]
fn framing_with_pre_start_hooks_loses_no_line() {
    // With a hook, each generation starts from the hook's exit, in the same loop turn that
    // may read log pipes: every line must still arrive.
    const LINES: u64 = 300;
    let s = format!("i=0; while [ $i -lt {LINES} ]; do echo \"line $i\"; i=$((i+1)); done");
    let args = [
        "--log-format",
        "prefix",
        "--on-exit",
        "restart",
        "--backoff-min",
        "0",
        "--backoff-max",
        "0",
    ];
    let mut cmd = plain(&args);
    cmd.args([
        "--pre-start",
        "true",
        "--control-socket",
        "none",
        "--trigger-file",
        "none",
        "--",
        "sh",
        "-c",
        &s,
    ]);
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        check_lines(stdout, |g, n| {
            if g == 100 && n == LINES - 1 {
                let _ = tx.send(());
            }
        })
    });
    let got = rx.recv_timeout(std::time::Duration::from_secs(60));
    signal(child.id(), "TERM");
    child.wait().unwrap();
    let gens = reader.join().expect("reader");
    assert!(
        got.is_ok(),
        "generation 100 never completed; saw {} generations",
        gens.len()
    );
    for g in 1..=100 {
        assert_eq!(gens.get(&g), Some(&LINES), "generation {g} lost lines");
    }
}
