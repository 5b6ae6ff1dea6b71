//! `--pre-start` hooks run (exec form, no shell) before every start; a failing hook is
//! reported and handled by the on-exit policy. `--wait-for` pauses before the first start.

mod common;
use common::*;

#[test]
fn hooks_run_in_order_before_every_start() {
    let dir = tempdir();
    let log = p(dir.path(), "log");
    let h1 = format!("sh -c 'echo h1 >> {log}'");
    let h2 = format!("sh -c \"echo h2 >> {log}\"");
    let s = format!("echo run >> {log}; while :; do sleep 0.05; done");
    let args = [
        "--pre-start",
        &h1,
        "--pre-start",
        &h2,
        "--trigger-file",
        "none",
        "--",
        "sh",
        "-c",
        &s,
    ];
    let (child, sup) = spawn_pid1(&args);
    assert_eq!(wait_lines(&log, 3, 10), vec!["h1", "h2", "run"]);
    signal(sup, "HUP");
    assert_eq!(
        wait_lines(&log, 6, 10),
        vec!["h1", "h2", "run", "h1", "h2", "run"]
    );
    signal(sup, "TERM");
    finish(child, 20);
}

#[test]
fn failing_hook_is_reported_and_follows_the_policy() {
    let dir = tempdir();
    let log = p(dir.path(), "log");
    let s = format!("echo run >> {log}");
    let out = run(
        &mut pid1(&["--pre-start", "sh -c 'exit 4'", "--", "sh", "-c", &s]),
        10,
    );
    assert_eq!(code(&out), 4);
    assert!(
        stderr(&out).contains("pre-start hook `sh` failed with exit code 4"),
        "{}",
        stderr(&out)
    );
    assert!(lines(&log).is_empty(), "the command ran although its hook failed");
    let out = run(&mut pid1(&["--pre-start", "no-such-hook-xyz", "--", "true"]), 10);
    assert_eq!(code(&out), 127);
    assert!(stderr(&out).contains("`no-such-hook-xyz`"), "{}", stderr(&out));
}

#[test]
fn hooks_from_the_environment_one_per_line() {
    let dir = tempdir();
    let log = p(dir.path(), "log");
    let mut cmd = pid1(&["--", "sh", "-c", &format!("echo run >> {log}")]);
    cmd.env(
        "RESPAWN_PRE_START",
        format!("sh -c 'echo a >> {log}'\nsh -c 'echo b >> {log}'"),
    );
    assert_eq!(code(&run(&mut cmd, 10)), 0);
    assert_eq!(lines(&log), vec!["a", "b", "run"]);
}

#[test]
fn wait_for_signal_pauses_the_first_start() {
    let dir = tempdir();
    let log = p(dir.path(), "log");
    let s = format!("echo run >> {log}");
    let (child, sup) = spawn_pid1(&["--wait-for", "USR1", "--", "sh", "-c", &s]);
    settle(300);
    assert!(lines(&log).is_empty(), "started before SIGUSR1");
    signal(sup, "USR1");
    let out = finish(child, 20);
    assert_eq!(code(&out), 0);
    assert_eq!(lines(&log), vec!["run"]);
    assert!(stderr(&out).contains("waiting for SIGUSR1"), "{}", stderr(&out));
}

#[test]
fn restart_requested_while_a_hook_runs_runs_the_hooks_again() {
    // A sync + trigger that lands while a build hook works on the previous sync must not be lost:
    // the hook finishes (never killed mid-way), then the start sequence runs again.
    let dir = tempdir();
    let log = p(dir.path(), "log");
    let hook = format!("sh -c 'echo hook-start >> {log}; sleep 0.6; echo hook-end >> {log}'");
    let s = format!("echo run >> {log}; while :; do sleep 0.05; done");
    let args = [
        "--pre-start",
        &hook,
        "--trigger-file",
        "none",
        "--",
        "sh",
        "-c",
        &s,
    ];
    let (child, sup) = spawn_pid1(&args);
    assert_eq!(wait_lines(&log, 3, 10), vec!["hook-start", "hook-end", "run"]);
    signal(sup, "HUP");
    assert_eq!(wait_lines(&log, 4, 10)[3], "hook-start");
    signal(sup, "HUP"); // arrives while the hook sleeps
    let want = vec![
        "hook-start",
        "hook-end",
        "run",
        "hook-start",
        "hook-end",
        "hook-start",
        "hook-end",
        "run",
    ];
    assert_eq!(wait_lines(&log, 8, 10), want);
    settle(300);
    assert_eq!(lines(&log), want, "more starts than requests");
    signal(sup, "TERM");
    let out = finish(child, 20);
    assert!(
        stderr(&out).contains("running the pre-start hooks again"),
        "{}",
        stderr(&out)
    );
}
