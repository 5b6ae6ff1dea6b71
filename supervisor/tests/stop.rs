//! Stopping: SIGTERM/SIGINT send the stop signal to the child's group, SIGKILL follows after
//! the stop timeout, and the supervisor exits only when the whole group is gone. Other
//! signals reach every process of the group.

mod common;
use common::*;
use std::process::Stdio;
use std::time::Instant;

#[test]
fn child_ignoring_term_is_killed_after_the_timeout() {
    let dir = tempdir();
    let ready = p(dir.path(), "ready");
    let s = format!("trap '' TERM; touch {ready}; while :; do sleep 0.05; done");
    let (child, sup) = spawn_pid1(&["--stop-timeout", "1s", "--", "sh", "-c", &s]);
    assert!(wait_file(ready.as_ref(), 10));
    let t0 = Instant::now();
    signal(sup, "TERM");
    let out = finish(child, 20);
    let took = t0.elapsed();
    assert_eq!(code(&out), 137, "{}", stderr(&out));
    assert!(
        took.as_millis() >= 900,
        "SIGKILL came before the stop timeout ({took:?})"
    );
    assert!(stderr(&out).contains("sending SIGKILL"), "{}", stderr(&out));
}

#[test]
fn stop_signal_is_configurable_and_sigint_stops_too() {
    let dir = tempdir();
    let ready = p(dir.path(), "ready");
    let s = format!("trap 'exit 42' USR1; trap '' TERM INT; touch {ready}; while :; do sleep 0.05; done");
    let (child, sup) = spawn_pid1(&["--stop-signal", "SIGUSR1", "--", "sh", "-c", &s]);
    assert!(wait_file(ready.as_ref(), 10));
    signal(sup, "INT");
    let out = finish(child, 20);
    assert_eq!(code(&out), 42, "{}", stderr(&out));
}

#[test]
fn stop_signal_from_environment() {
    let dir = tempdir();
    let ready = p(dir.path(), "ready");
    let s = format!("trap 'exit 7' QUIT; trap '' TERM; touch {ready}; while :; do sleep 0.05; done");
    let mut cmd = pid1(&["--", "sh", "-c", &s]);
    cmd.env("RESPAWN_STOP_SIGNAL", "QUIT");
    let child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let sup = inner_pid(child.id());
    assert!(wait_file(ready.as_ref(), 10));
    signal(sup, "TERM");
    assert_eq!(code(&finish(child, 20)), 7);
}

#[test]
fn forwarded_signals_reach_a_grandchild_in_the_group() {
    let dir = tempdir();
    let (ready, got) = (p(dir.path(), "ready"), p(dir.path(), "got"));
    let gc = format!(
        "trap 'echo usr2 >> {got}' USR2; trap 'echo hup >> {got}' WINCH; touch {ready}; while :; do sleep 0.05; done"
    );
    // The front shell survives both signals, so only the grandchild's traps show delivery.
    let s = format!("trap : USR2 WINCH; sh -c \"{gc}\" & while :; do sleep 0.05; done");
    let (child, sup) = spawn_pid1(&["--", "sh", "-c", &s]);
    assert!(wait_file(ready.as_ref(), 10));
    signal(sup, "USR2");
    assert_eq!(wait_content(got.as_ref(), "usr2", 10), "usr2");
    signal(sup, "WINCH");
    assert_eq!(wait_content(got.as_ref(), "usr2\nhup", 10), "usr2\nhup");
    signal(sup, "TERM");
    let out = finish(child, 20);
    // The shell in front dies of SIGTERM: 128 + 15.
    assert_eq!(code(&out), 143, "{}", stderr(&out));
}

#[test]
fn exits_only_after_the_whole_group_is_gone() {
    let dir = tempdir();
    let (ready, done) = (p(dir.path(), "ready"), p(dir.path(), "done"));
    // The grandchild needs 0.5 s to shut down; the direct child exits at once.
    let gc =
        format!("trap 'sleep 0.5; touch {done}; exit 0' TERM; touch {ready}; while :; do sleep 0.05; done");
    // The trap is set before the grandchild exists, so `ready` implies both are armed.
    let s = format!("trap 'exit 3' TERM; sh -c \"{gc}\" & while :; do sleep 0.05; done");
    let (child, sup) = spawn_pid1(&["--", "sh", "-c", &s]);
    assert!(wait_file(ready.as_ref(), 10));
    signal(sup, "TERM");
    let out = finish(child, 20);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(
        std::path::Path::new(&done).exists(),
        "supervisor exited before the grandchild finished"
    );
}

#[test]
fn realtime_signals_are_forwarded_too() {
    if native_only("realtime_signals_are_forwarded_too", QEMU_RT_RENUMBERED) {
        return;
    }
    // 34 is SIGRTMIN for glibc programs; musl keeps 32-34 for itself, respawn still catches them.
    for n in ["34", "40", "64"] {
        let dir = tempdir();
        let ready = p(dir.path(), "ready");
        let s = format!("touch {ready}; while :; do sleep 0.05; done");
        let (child, sup) = spawn_pid1(&["--", "sh", "-c", &s]);
        assert!(wait_file(ready.as_ref(), 10));
        signal(sup, n);
        let out = finish(child, 20);
        let want = 128 + n.parse::<i32>().unwrap();
        assert_eq!(code(&out), want, "signal {n} was not forwarded: {}", stderr(&out));
    }
}
