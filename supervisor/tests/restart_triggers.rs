//! Restart triggers: SIGHUP, the trigger file (written or merely touched; default
//! /tmp/.restart-proc), and `respawn restart` / `respawn status` over the control socket.
//! Requests that arrive during a restart coalesce into it.

mod common;
use common::*;

/// A child that appends its pid to `log` and then idles.
fn logger(log: &str) -> String {
    format!("echo $$ >> {log}; while :; do sleep 0.05; done")
}

#[test]
fn sighup_restarts_in_place() {
    let dir = tempdir();
    let log = p(dir.path(), "pids");
    let (child, sup) = spawn_pid1(&["--trigger-file", "none", "--", "sh", "-c", &logger(&log)]);
    assert_eq!(wait_lines(&log, 1, 10).len(), 1);
    signal(sup, "HUP");
    let pids = wait_lines(&log, 2, 10);
    assert_eq!(pids.len(), 2, "no restart after SIGHUP");
    assert_ne!(pids[0], pids[1]);
    signal(sup, "TERM");
    assert_eq!(code(&finish(child, 20)), 143);
}

#[test]
fn trigger_file_write_or_touch_restarts() {
    let dir = tempdir();
    let (log, trig) = (p(dir.path(), "pids"), p(dir.path(), "restart-proc"));
    let (child, sup) = spawn_pid1(&["--trigger-file", &trig, "--", "sh", "-c", &logger(&log)]);
    assert_eq!(wait_lines(&log, 1, 10).len(), 1);
    std::fs::write(&trig, "x").unwrap(); // created and written
    assert_eq!(
        wait_lines(&log, 2, 10).len(),
        2,
        "no restart after writing the trigger file"
    );
    settle(100);
    // A plain touch of an existing file only changes its times (IN_ATTRIB).
    let ok = std::process::Command::new("/bin/busybox")
        .args(["touch", &trig])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    assert_eq!(
        wait_lines(&log, 3, 10).len(),
        3,
        "no restart after touching the trigger file"
    );
    signal(sup, "TERM");
    finish(child, 20);
}

#[test]
fn trigger_right_at_start_counts_and_an_old_file_does_not() {
    let dir = tempdir();
    let (log, trig, once) = (
        p(dir.path(), "pids"),
        p(dir.path(), "restart-proc"),
        p(dir.path(), "once"),
    );
    // An old trigger file from before the start is not a request.
    let ok = std::process::Command::new("touch")
        .args(["-d", "1 hour ago", &trig])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    // The first generation touches it within milliseconds of the start (before the watch is armed).
    let s = format!(
        "[ -e {once} ] || {{ touch {once}; touch {trig}; }}; {}",
        logger(&log)
    );
    let (child, sup) = spawn_pid1(&["--trigger-file", &trig, "--", "sh", "-c", &s]);
    assert_eq!(
        wait_lines(&log, 2, 10).len(),
        2,
        "a touch right after the start was missed"
    );
    settle(300);
    assert_eq!(lines(&log).len(), 2);
    signal(sup, "TERM");
    finish(child, 20);
}

#[test]
fn default_trigger_file_is_tmp_restart_proc() {
    let dir = tempdir();
    let log = p(dir.path(), "pids");
    let (child, sup) = spawn_pid1_private_tmp(":", &["--", "sh", "-c", &logger(&log)]);
    if wait_lines(&log, 1, 10).len() != 1 {
        signal(sup, "KILL");
        panic!("child did not start: {}", stderr(&finish(child, 10)));
    }
    let ok = std::process::Command::new("nsenter")
        .args(["-t", &sup.to_string(), "-m", "touch", "/tmp/.restart-proc"])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    assert_eq!(
        wait_lines(&log, 2, 10).len(),
        2,
        "touching /tmp/.restart-proc did not restart"
    );
    signal(sup, "TERM");
    finish(child, 20);
}

#[test]
fn respawn_restart_and_status_in_the_container_namespace() {
    let dir = tempdir();
    let log = p(dir.path(), "pids");
    let (child, sup) = spawn_pid1(&["--trigger-file", "none", "--", "sh", "-c", &logger(&log)]);
    assert_eq!(wait_lines(&log, 1, 10).len(), 1);
    // Like `kubectl exec POD -- /respawn/respawn restart`: same mount and PID namespace.
    let out = exec_in(sup, &["restart"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let new_pid = String::from_utf8_lossy(&out.stdout).trim().to_string();
    // It returned after the new generation started: its pid is already known.
    let pids = wait_lines(&log, 2, 10);
    assert_eq!(
        pids.last().unwrap(),
        &new_pid,
        "restart printed {new_pid}, log has {pids:?}"
    );
    let out = exec_in(sup, &["status"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let status = String::from_utf8_lossy(&out.stdout).to_string();
    for want in [
        "state: running",
        &format!("pid: {new_pid}"),
        "generation: 2",
        "restarts: 1",
        "last exit: signal SIGTERM",
        "uptime: ",
    ] {
        assert!(status.contains(want), "status lacks {want:?}:\n{status}");
    }
    signal(sup, "TERM");
    finish(child, 20);
}

#[test]
fn restart_and_status_without_a_supervisor_fail_clearly() {
    // A fresh mount namespace: no supervisor derives the same socket name.
    for word in ["restart", "status"] {
        let out = run(
            std::process::Command::new("unshare")
                .args(["-m"])
                .args(respawn_argv())
                .arg(word),
            10,
        );
        assert_eq!(code(&out), 1);
        assert!(
            stderr(&out).contains("no respawn supervisor is listening"),
            "{}",
            stderr(&out)
        );
    }
    let out = run(
        &mut plain(&["restart", "--control-socket", "@respawn-test-nobody-here"]),
        10,
    );
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("@respawn-test-nobody-here"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn control_socket_override_and_path_socket() {
    let dir = tempdir();
    let (log, sock) = (p(dir.path(), "pids"), p(dir.path(), "ctl.sock"));
    let mut cmd = plain(&[
        "--trigger-file",
        "none",
        "--control-socket",
        &sock,
        "--",
        "sh",
        "-c",
        &logger(&log),
    ]);
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert_eq!(wait_lines(&log, 1, 10).len(), 1);
    let out = run(plain(&["restart"]).env("RESPAWN_CONTROL_SOCKET", &sock), 20);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(wait_lines(&log, 2, 10).len(), 2);
    signal(child.id(), "TERM");
    finish(child, 20);
}

#[test]
fn requests_during_a_restart_coalesce() {
    let dir = tempdir();
    let log = p(dir.path(), "pids");
    // Stopping takes 300 ms; five more SIGHUPs arrive meanwhile.
    let s = format!("trap 'sleep 0.3; exit 0' TERM; echo $$ >> {log}; while :; do sleep 0.05; done");
    let (child, sup) = spawn_pid1(&["--trigger-file", "none", "--", "sh", "-c", &s]);
    assert_eq!(wait_lines(&log, 1, 10).len(), 1);
    for _ in 0..6 {
        signal(sup, "HUP");
        settle(20);
    }
    assert_eq!(wait_lines(&log, 2, 10).len(), 2);
    settle(800);
    assert_eq!(
        lines(&log).len(),
        2,
        "requests during the restart were not coalesced into one"
    );
    signal(sup, "TERM");
    finish(child, 20);
}
