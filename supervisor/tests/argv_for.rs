//! `--argv-for PLATFORM COUNT ARGS…`: the binary runs the entry of its own platform — the
//! x86_64 build `linux/amd64`, the aarch64 build (under qemu in `make test`) `linux/arm64` —
//! else the command after `--`; every restart runs the same choice, and `respawn status` shows it.
//! The expected platform comes from the ELF header of the binary under test, not from the binary.

mod common;
use common::*;

/// The platform the binary under test must call its own.
fn expected_platform() -> &'static str {
    match bin_machine() {
        "x86_64" => "linux/amd64",
        "aarch64" => "linux/arm64",
        other => panic!("no expected platform for a {other} binary"),
    }
}

/// `--argv-for` entries for amd64 and arm64 (as an index's two entries would give them), each
/// printing its marker to `out`; then `rest`.
fn entries(out: &str, rest: &[&str]) -> Vec<String> {
    let mut v = Vec::new();
    for (platform, marker) in [("linux/amd64", "amd64"), ("linux/arm64/v8", "arm64")] {
        let script = format!("echo {marker} >> {out}; while :; do sleep 0.05; done");
        v.extend(["--argv-for", platform, "3", "sh", "-c"].map(String::from));
        v.push(script);
    }
    v.extend(rest.iter().map(|s| s.to_string()));
    v
}

#[test]
fn each_build_runs_the_entry_of_its_platform_and_keeps_it_across_restarts() {
    let dir = tempdir();
    let out = p(dir.path(), "markers");
    let fallback = format!("echo fallback >> {out}; while :; do sleep 0.05; done");
    let args = entries(&out, &["--trigger-file", "none", "--", "sh", "-c", &fallback]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (child, sup) = spawn_pid1(&args);
    let marker = expected_platform().trim_start_matches("linux/");
    assert_eq!(wait_lines(&out, 1, 20), [marker]);
    let restart = exec_in(sup, &["restart"]);
    assert_eq!(code(&restart), 0, "{}", stderr(&restart));
    assert_eq!(
        wait_lines(&out, 2, 20),
        [marker, marker],
        "the restart ran another argv"
    );
    let status = exec_in(sup, &["status"]);
    let status = String::from_utf8_lossy(&status.stdout).into_owned();
    let want_cmd = format!("command: sh -c 'echo {marker} >> {out}; while :; do sleep 0.05; done'");
    assert!(status.contains(&want_cmd), "status lacks {want_cmd:?}:\n{status}");
    let want_platform = format!("platform: {} (its --argv-for entry)", expected_platform());
    assert!(
        status.contains(&want_platform),
        "status lacks {want_platform:?}:\n{status}"
    );
    signal(sup, "TERM");
    let done = finish(child, 20);
    // Logged once, at start, naming the platform.
    let log = stderr(&done);
    let line = format!(
        "respawn: platform {}: running its --argv-for entry: sh -c",
        expected_platform()
    );
    assert_eq!(log.matches(&line).count(), 1, "{log}");
}

#[test]
fn without_an_entry_for_its_platform_the_command_after_the_separator_runs() {
    let dir = tempdir();
    let out = p(dir.path(), "marker");
    let other = if expected_platform() == "linux/amd64" {
        "linux/arm64"
    } else {
        "linux/amd64"
    };
    let run_ = run(
        &mut pid1(&[
            "--argv-for",
            other,
            "3",
            "sh",
            "-c",
            &format!("echo wrong > {out}"),
            "--argv-for",
            "linux/riscv64",
            "1",
            "/nonexistent",
            "--",
            "sh",
            "-c",
            &format!("echo fallback > {out}; exit 4"),
        ]),
        20,
    );
    assert_eq!(code(&run_), 4, "{}", stderr(&run_));
    assert_eq!(std::fs::read_to_string(&out).unwrap().trim(), "fallback");
    assert!(
        !stderr(&run_).contains("argv-for"),
        "logged without an entry: {}",
        stderr(&run_)
    );
}

#[test]
fn malformed_entries_exit_2_with_the_reason() {
    for (args, needle) in [
        (
            &["--argv-for", "linux/arm64", "0", "--", "true"][..],
            "COUNT must be at least 1",
        ),
        (
            &["--argv-for", "linux/arm64", "5", "true", "--", "true"],
            "COUNT 5 reaches past the end",
        ),
        (
            &["--argv-for", "linux/arm64", "--", "true"],
            "COUNT must be a number of arguments, got '--'",
        ),
        (
            &["--argv-for", "arm64", "1", "true", "--", "true"],
            "invalid platform \"arm64\"",
        ),
        (
            &[
                "--argv-for",
                "linux/arm64",
                "1",
                "true",
                "--argv-for",
                "linux/arm64/v8",
                "1",
                "true",
                "--",
                "true",
            ],
            "platform linux/arm64 is given twice",
        ),
    ] {
        let out = run(&mut plain(args), 20);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
}
