//! `--on-exit exit|restart|wait` when the child exits by itself.

mod common;
use common::*;

#[test]
fn restart_policy_backs_off_exponentially() {
    let dir = tempdir();
    let log = p(dir.path(), "starts");
    let s = format!("date +%s%N >> {log}; exit 3");
    let args = [
        "--on-exit",
        "restart",
        "--backoff-min",
        "50ms",
        "--backoff-max",
        "400ms",
        "--",
        "sh",
        "-c",
        &s,
    ];
    let (child, sup) = spawn_pid1(&args);
    let starts = wait_lines(&log, 5, 20);
    assert!(starts.len() >= 5, "only {} starts", starts.len());
    // The 5th run exits at once and a 400 ms delay follows: SIGTERM lands in the backoff and
    // the supervisor exits with the last run's code.
    settle(150);
    signal(sup, "TERM");
    let out = finish(child, 20);
    assert_eq!(code(&out), 3, "exit code of the last run");
    let t: Vec<u128> = starts.iter().map(|l| l.parse().unwrap()).collect();
    let gaps: Vec<u128> = t.windows(2).map(|w| (w[1] - w[0]) / 1_000_000).collect();
    // Delays 50, 100, 200, 400 ms (+ start time): each gap at least the delay.
    for (gap, min) in gaps.iter().zip([50u128, 100, 200, 400]) {
        assert!(*gap >= min, "gaps {gaps:?} ms do not back off");
    }
    assert!(stderr(&out).contains("restarting in"), "{}", stderr(&out));
}

#[test]
fn wait_policy_stays_up_until_the_next_trigger() {
    let dir = tempdir();
    let log = p(dir.path(), "runs");
    let s = format!("echo run >> {log}; exit 4");
    let (mut child, sup) = spawn_pid1(&[
        "--on-exit",
        "wait",
        "--trigger-file",
        "none",
        "--",
        "sh",
        "-c",
        &s,
    ]);
    assert_eq!(wait_lines(&log, 1, 10).len(), 1);
    settle(300);
    assert!(
        child.try_wait().unwrap().is_none(),
        "supervisor exited although --on-exit wait"
    );
    assert_eq!(lines(&log).len(), 1, "restarted without a trigger");
    signal(sup, "HUP");
    assert_eq!(wait_lines(&log, 2, 10).len(), 2, "SIGHUP did not start it again");
    signal(sup, "TERM");
    let out = finish(child, 20);
    assert_eq!(code(&out), 4);
    assert!(
        stderr(&out).contains("waiting for a restart trigger"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn exit_policy_is_the_default() {
    let out = run(&mut pid1(&["--", "sh", "-c", "exit 5"]), 10);
    assert_eq!(code(&out), 5);
    let out = run(&mut pid1(&["--on-exit", "exit", "--", "sh", "-c", "exit 6"]), 10);
    assert_eq!(code(&out), 6);
}

#[test]
fn a_healthy_run_resets_the_backoff() {
    let dir = tempdir();
    let log = p(dir.path(), "starts");
    // Runs 0-3 crash at once (delays 50, 100, 200, 300 ms); run 4 lives 400 ms (>= the
    // 300 ms maximum: healthy), so the delay after it is back to 50 ms, then 100 ms.
    let s = format!("n=$(wc -l < {log}); date +%s%N >> {log}; [ \"$n\" -eq 4 ] && sleep 0.4; exit 1");
    let args = [
        "--on-exit",
        "restart",
        "--backoff-min",
        "50ms",
        "--backoff-max",
        "300ms",
        "--",
        "sh",
        "-c",
        &s,
    ];
    let (child, sup) = spawn_pid1(&args);
    let starts = wait_lines(&log, 7, 20);
    signal(sup, "TERM");
    finish(child, 20);
    assert!(starts.len() >= 7, "only {} starts", starts.len());
    let t: Vec<u128> = starts.iter().map(|l| l.parse().unwrap()).collect();
    let gaps: Vec<u128> = t.windows(2).map(|w| (w[1] - w[0]) / 1_000_000).collect();
    assert!(gaps[3] >= 300, "backoff did not reach its maximum: {gaps:?} ms");
    // Without the reset the gap after run 5 would be the 300 ms maximum again.
    assert!(
        gaps[5] < 250,
        "backoff was not reset after a healthy run: {gaps:?} ms"
    );
}
