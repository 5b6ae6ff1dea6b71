//! Table tests for `--argv-for PLATFORM COUNT ARGS…`.

use super::platform::{self, Entry, choose, own, show};
use super::*;
use std::os::unix::ffi::OsStringExt;

fn os(v: &[&str]) -> Vec<OsString> {
    v.iter().map(OsString::from).collect()
}

fn run(args: &[&str]) -> Result<Config, String> {
    run_os(os(args))
}

fn run_os(args: Vec<OsString>) -> Result<Config, String> {
    match parse(args, &[]) {
        Ok(Invocation::Run(c)) => Ok(*c),
        Ok(_) => Err("not a run".into()),
        Err(UsageError(m)) => Err(m),
    }
}

/// This build's platform, and one that is not.
fn own_and_other() -> (String, String) {
    let own = own().to_string();
    let other = if own == "linux/arm64" {
        "linux/amd64"
    } else {
        "linux/arm64"
    };
    (own, other.to_string())
}

#[test]
fn own_platform_is_fixed_by_the_target() {
    let want = if cfg!(target_arch = "aarch64") {
        "linux/arm64"
    } else {
        "linux/amd64"
    };
    if cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
        assert_eq!(own().to_string(), want);
    }
}

#[test]
fn the_entry_of_this_platform_wins_else_the_command_after_the_separator() {
    let (own, other) = own_and_other();
    let c = run(&[
        "--argv-for",
        &other,
        "1",
        "/other",
        "--argv-for",
        &own,
        "2",
        "/mine",
        "--serve",
        "--",
        "/fallback",
    ])
    .unwrap();
    assert_eq!(c.command, os(&["/mine", "--serve"]));
    assert_eq!(c.argv_for.map(|p| p.to_string()), Some(own.clone()));
    let c = run(&["--argv-for", &other, "2", "/other", "x", "--", "/fallback", "y"]).unwrap();
    assert_eq!(c.command, os(&["/fallback", "y"]));
    assert!(c.argv_for.is_none(), "no entry was used");
    let c = run(&["--", "/plain"]).unwrap();
    assert!(c.argv_for.is_none());
}

#[test]
fn count_makes_every_word_literal() {
    let (own, other) = own_and_other();
    // `--`, `--argv-for` and `-x` inside an entry are arguments, not options.
    let c = run(&[
        "--argv-for",
        &other,
        "3",
        "/o",
        "--",
        "--argv-for",
        "--argv-for",
        &own,
        "4",
        "/m",
        "--",
        "-x",
        "--stop-signal",
        "--",
        "/fallback",
    ])
    .unwrap();
    assert_eq!(c.command, os(&["/m", "--", "-x", "--stop-signal"]));
    assert_eq!(
        c.stop_signal,
        libc::SIGTERM,
        "a word of an entry is not an option"
    );
    // Non-UTF-8 words and `$` pass unchanged.
    let raw = OsString::from_vec(b"caf\xe9 $HOME $$".to_vec());
    let mut args = os(&["--argv-for", &own, "1"]);
    args.extend([raw.clone(), "--".into(), "/f".into()]);
    assert_eq!(run_os(args).unwrap().command, vec![raw]);
}

#[test]
fn entries_mix_with_options_and_take_the_inline_form() {
    let (own, _) = own_and_other();
    let c = run(&[
        "--stop-signal",
        "INT",
        &format!("--argv-for={own}"),
        "1",
        "/m",
        "--on-exit",
        "wait",
        "--",
        "/f",
    ])
    .unwrap();
    assert_eq!(
        (c.command, c.stop_signal, c.on_exit),
        (os(&["/m"]), libc::SIGINT, OnExit::Wait)
    );
    // The default variant is the same platform: linux/arm64/v8 is linux/arm64.
    let v = if own == "linux/arm64" {
        "linux/arm64/v8"
    } else {
        "linux/amd64/v1"
    };
    assert_eq!(
        run(&["--argv-for", v, "1", "/m", "--", "/f"]).unwrap().command,
        os(&["/m"])
    );
    // Another variant is another platform.
    let v3 = if own == "linux/arm64" {
        "linux/arm64/v9"
    } else {
        "linux/amd64/v3"
    };
    assert_eq!(
        run(&["--argv-for", v3, "1", "/m", "--", "/f"]).unwrap().command,
        os(&["/f"])
    );
}

#[test]
fn malformed_entries_are_usage_errors() {
    for (args, needle) in [
        (&["--argv-for"][..], "'--argv-for' needs PLATFORM COUNT ARGS..."),
        (
            &["--argv-for", "linux/arm64"],
            "--argv-for linux/arm64: missing COUNT",
        ),
        (
            &["--argv-for", "linux/arm64", "--", "/f"],
            "COUNT must be a number of arguments, got '--'",
        ),
        (&["--argv-for", "linux/arm64", "+1", "/a", "--", "/f"], "got '+1'"),
        (&["--argv-for", "linux/arm64", "-1", "/a", "--", "/f"], "got '-1'"),
        (
            &["--argv-for", "linux/arm64", "99999999999999999999999", "/a"],
            "COUNT must be a number",
        ),
        (
            &["--argv-for", "linux/arm64", "0", "--", "/f"],
            "COUNT must be at least 1",
        ),
        (
            &["--argv-for", "linux/arm64", "4", "/a", "--", "/f"],
            "COUNT 4 reaches past the end of the arguments (only 3 follow)",
        ),
        (
            &["--argv-for", "linux/arm64", "3", "/a", "--", "/f"],
            "no command given",
        ),
        (&["--argv-for", "linux/arm64", "1", "/a"], "no command given"),
        (
            &["--argv-for", "linux", "1", "/a", "--", "/f"],
            "invalid platform \"linux\"",
        ),
        (
            &["--argv-for", "linux/arm64/", "1", "/a", "--", "/f"],
            "invalid platform",
        ),
        (
            &["--argv-for", "Linux/ARM64", "1", "/a", "--", "/f"],
            "invalid platform",
        ),
        (&["--argv-for=", "1", "/a", "--", "/f"], "invalid platform"),
        (
            &["--argv-for", "linux/aarch64", "1", "/a", "--", "/f"],
            "use `arm64`",
        ),
        (
            &["--argv-for", "linux/x86_64", "1", "/a", "--", "/f"],
            "use `amd64`",
        ),
        (
            &[
                "--argv-for",
                "linux/arm64",
                "1",
                "/a",
                "--argv-for",
                "linux/arm64/v8",
                "1",
                "/b",
                "--",
                "/f",
            ],
            "platform linux/arm64 is given twice",
        ),
        (
            &[
                "--argv-for",
                "linux/amd64",
                "1",
                "/a",
                "--argv-for",
                "linux/amd64",
                "2",
                "/b",
                "c",
                "--",
                "/f",
            ],
            "platform linux/amd64 is given twice",
        ),
    ] {
        let e = run(args).unwrap_err();
        assert!(e.contains(needle), "{args:?}: {e}");
    }
    let e = parse(os(&["status", "--argv-for", "linux/arm64", "1", "/a"]), &[])
        .err()
        .unwrap()
        .0;
    assert!(e.contains("--argv-for does not apply to `status`"), "{e}");
}

#[test]
fn choose_picks_by_normalised_platform() {
    let p = |t: &str| respawn_settings::platform(t).unwrap();
    let entries = || {
        vec![
            Entry {
                platform: p("linux/amd64"),
                argv: os(&["/amd"]),
            },
            Entry {
                platform: p("linux/arm64/v8"),
                argv: os(&["/arm"]),
            },
            Entry {
                platform: p("linux/arm/v7"),
                argv: os(&["/arm7"]),
            },
        ]
    };
    for (me, want, used) in [
        ("linux/amd64", "/amd", true),
        ("linux/arm64", "/arm", true),
        ("linux/arm64/v8", "/arm", true),
        ("linux/arm/v7", "/arm7", true),
        ("linux/arm/v6", "/f", false),
        ("linux/riscv64", "/f", false),
        ("windows/amd64", "/f", false),
    ] {
        let (argv, chosen) = choose(entries(), &p(me), os(&["/f"]));
        assert_eq!(argv, os(&[want]), "{me}");
        assert_eq!(chosen.is_some(), used, "{me}");
    }
    assert!(
        platform::push(
            &mut entries(),
            Entry {
                platform: p("linux/amd64/v1"),
                argv: os(&["/x"])
            }
        )
        .is_err()
    );
}

#[test]
fn argv_is_shown_as_words() {
    assert_eq!(show(&os(&["/app", "--serve"])), "/app --serve");
    assert_eq!(
        show(&os(&["sh", "-c", "echo 'hi' $X", ""])),
        r#"sh -c 'echo '\''hi'\'' $X' ''"#
    );
}
