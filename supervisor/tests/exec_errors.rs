//! Exec failures and bad flags give the documented exit codes and messages.

mod common;
use common::*;
use std::os::unix::fs::PermissionsExt;

#[test]
fn command_not_found_is_127_and_named() {
    if native_only("command_not_found_is_127_and_named", QEMU_VFORK_IS_FORK) {
        return;
    }
    let out = run(&mut pid1(&["--", "no-such-command-xyz", "arg"]), 10);
    assert_eq!(code(&out), 127);
    assert!(
        stderr(&out).contains("respawn: cannot run `no-such-command-xyz`: command not found in PATH"),
        "{}",
        stderr(&out)
    );
    let out = run(&mut plain(&["--", "/nonexistent/prog"]), 10);
    assert_eq!(code(&out), 127);
    assert!(stderr(&out).contains("`/nonexistent/prog`"), "{}", stderr(&out));
}

#[test]
fn not_executable_is_126() {
    if native_only("not_executable_is_126", QEMU_VFORK_IS_FORK) {
        return;
    }
    let dir = tempdir();
    let f = dir.path().join("script");
    std::fs::write(&f, "#!/bin/sh\necho hi\n").unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run(&mut plain(&["--", f.to_str().unwrap()]), 10);
    assert_eq!(code(&out), 126);
    assert!(stderr(&out).contains("permission denied"), "{}", stderr(&out));
    // A file without #! that is marked executable: exec format error, no shell fallback.
    let g = dir.path().join("noshebang");
    std::fs::write(&g, "echo hi\n").unwrap();
    std::fs::set_permissions(&g, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = run(&mut plain(&["--", g.to_str().unwrap()]), 10);
    assert_eq!(code(&out), 126);
    assert!(stderr(&out).contains("exec format error"), "{}", stderr(&out));
}

#[test]
fn path_lookup_finds_commands_like_execvp() {
    let out = run(
        plain(&["--", "sh", "-c", "exit 9"]).env("PATH", "/nowhere:/usr/bin:/bin"),
        10,
    );
    assert_eq!(code(&out), 9);
}

#[test]
fn bad_flags_are_usage_errors() {
    for (args, needle) in [
        (
            vec!["--frobnicate", "--", "true"],
            "unknown option '--frobnicate'",
        ),
        (vec!["--"], "no command given"),
        (vec![], "no command given"),
        (
            vec!["--stop-timeout", "soon", "--", "true"],
            "invalid value 'soon' for --stop-timeout",
        ),
        (
            vec!["--stop-signal", "SIGNOPE", "--", "true"],
            "invalid value 'SIGNOPE' for --stop-signal",
        ),
        (vec!["--on-exit"], "needs a value"),
        (vec!["-x", "true"], "unknown option '-x'"),
    ] {
        let out = run(&mut plain(&args), 10);
        assert_eq!(code(&out), 2, "{args:?}");
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
    let out = run(plain(&["--", "true"]).env("RESPAWN_STOP_TIMEOUT", "later"), 10);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("RESPAWN_STOP_TIMEOUT"), "{}", stderr(&out));
}

#[test]
fn help_documents_every_option_and_version_prints() {
    let out = run(&mut plain(&["--help"]), 10);
    assert_eq!(code(&out), 0);
    let help = String::from_utf8_lossy(&out.stdout);
    for opt in [
        "--stop-signal",
        "--stop-timeout",
        "--on-exit",
        "--env-file",
        "--pre-start",
        "--wait-for",
        "--log-format",
        "--trigger-file",
        "--watch",
        "--ignore",
        "--debounce",
        "--control-socket",
        "--argv-for PLATFORM COUNT",
        "RESPAWN_STOP_SIGNAL",
        "install DEST",
        "restart",
        "status",
    ] {
        assert!(help.contains(opt), "--help lacks {opt}");
    }
    let out = run(&mut plain(&["--version"]), 10);
    assert_eq!(code(&out), 0);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("respawn "));
}

#[test]
fn child_does_not_see_respawn_variables() {
    let out = run(
        plain(&["--", "env"])
            .env("RESPAWN_STOP_TIMEOUT", "3s")
            .env("KEEP_ME", "1"),
        10,
    );
    assert_eq!(code(&out), 0);
    let env = String::from_utf8_lossy(&out.stdout);
    assert!(env.contains("KEEP_ME=1"));
    assert!(!env.contains("RESPAWN_"), "{env}");
}
