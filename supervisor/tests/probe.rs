//! `respawn probe`: held while a restart is in progress, for `--grace` after one, and while the
//! supervisor waits for a trigger; otherwise the original check runs — a command (its exit
//! code, killed at the timeout, without `RESPAWN_*` variables), a TCP connect or an HTTP GET
//! (to `RESPAWN_POD_IP` when no `--host`). Without a supervisor, or with one that does not know
//! the `probe` request, the check still runs. Bad flags are usage errors that say what is wrong.

mod common;
use common::*;
use std::io::{Read, Write};
use std::process::{Child, Stdio};

/// A supervisor (not PID 1) with its control socket at `sock`, running `script`.
fn supervisor(sock: &str, extra: &[&str], script: &str) -> Child {
    let mut args = vec!["--trigger-file", "none", "--control-socket", sock];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", "sh", "-c", script]);
    plain(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn respawn")
}

/// `respawn probe --control-socket SOCK ARGS`; its exit code and output (stdout + stderr).
fn probe(sock: &str, args: &[&str]) -> (i32, String) {
    let mut all = vec!["probe", "--control-socket", sock];
    all.extend_from_slice(args);
    let out = run(&mut plain(&all), 20);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    (code(&out), text)
}

/// Polls `respawn status` until it contains every one of `want`.
fn wait_status(sock: &str, want: &[&str]) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let out = run(&mut plain(&["status", "--control-socket", sock]), 10);
        let s = String::from_utf8_lossy(&out.stdout).to_string();
        if want.iter().all(|w| s.contains(w)) {
            return s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "status never showed {want:?}:\n{s}"
        );
        settle(20);
    }
}

#[test]
fn a_restart_in_progress_and_its_grace_hold_the_probe_a_running_app_is_checked() {
    let dir = tempdir();
    let (sock, log, release) = (
        p(dir.path(), "ctl.sock"),
        p(dir.path(), "pids"),
        p(dir.path(), "release"),
    );
    // Stopping lasts until the test creates `release`: the restart is in progress until then.
    let script = format!(
        "trap 'while [ ! -e {release} ]; do sleep 0.02; done; exit 0' TERM; echo $$ >> {log}; while :; do sleep 0.05; done"
    );
    let sup = supervisor(&sock, &[], &script);
    assert_eq!(wait_lines(&log, 1, 10).len(), 1);
    let failing = ["--grace", "1h", "--exec", "--", "false"];
    let (c, out) = probe(&sock, &failing);
    assert_eq!(c, 1, "no restart yet: the check runs and fails\n{out}");
    assert!(
        out.contains("probe failed: `false` failed (exit code 1)"),
        "{out}"
    );

    let restart = plain(&["restart", "--control-socket", &sock])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_status(&sock, &["state: stopping"]);
    let (c, out) = probe(&sock, &["--exec", "--", "false"]);
    assert_eq!(
        c, 0,
        "a restart in progress holds the probe, even without grace\n{out}"
    );
    assert!(
        out.contains("check skipped: a restart is in progress (stopping"),
        "{out}"
    );

    std::fs::write(&release, "").unwrap();
    assert_eq!(code(&finish(restart, 20)), 0);
    wait_status(&sock, &["state: running", "generation: 2"]);
    let (c, out) = probe(&sock, &failing);
    assert_eq!(c, 0, "within the grace after the restart\n{out}");
    assert!(
        out.contains("the last restart finished") && out.contains("within the grace of 3600s"),
        "{out}"
    );
    let (c, out) = probe(&sock, &["--grace", "0s", "--exec", "--", "false"]);
    assert_eq!(c, 1, "past the grace the check decides\n{out}");
    let (c, out) = probe(&sock, &["--grace", "0s", "--exec", "--", "true"]);
    assert_eq!(c, 0, "{out}");
    assert!(!out.contains("skipped"), "{out}");
    signal(sup.id(), "TERM");
    finish(sup, 20);
}

#[test]
fn waiting_for_a_trigger_after_a_crash_holds_the_probe() {
    let dir = tempdir();
    let sock = p(dir.path(), "ctl.sock");
    let sup = supervisor(&sock, &["--on-exit", "wait"], "exit 3");
    wait_status(&sock, &["state: starting", "last exit: exit code 3"]);
    let (c, out) = probe(&sock, &["--exec", "--", "false"]);
    assert_eq!(c, 0, "{out}");
    assert!(out.contains("waiting for a restart trigger"), "{out}");
    signal(sup.id(), "TERM");
    assert_eq!(code(&finish(sup, 20)), 3);
}

#[test]
fn exec_check_that_cannot_run_says_why() {
    if native_only("probe::exec_check_that_cannot_run_says_why", QEMU_VFORK_IS_FORK) {
        return;
    }
    let dir = tempdir();
    let (c, out) = probe(
        &p(dir.path(), "nobody.sock"),
        &["--exec", "--", "/nonexistent/check"],
    );
    assert_eq!(c, 127, "{out}");
    assert!(out.contains("cannot run `/nonexistent/check`"), "{out}");
}

#[test]
fn exec_check_exit_codes_timeout_and_environment() {
    let dir = tempdir();
    // No supervisor on this socket: the check runs anyway, and says so.
    let sock = p(dir.path(), "nobody.sock");
    let (c, out) = probe(&sock, &["--exec", "--", "sh", "-c", "exit 7"]);
    assert_eq!(c, 7, "{out}");
    assert!(
        out.contains("no respawn supervisor is listening") && out.contains("checking anyway"),
        "{out}"
    );

    let pidfile = p(dir.path(), "pid");
    let script = format!("echo $$ > {pidfile}; exec sleep 30");
    let (c, out) = probe(
        &sock,
        &["--timeout", "300ms", "--exec", "--", "sh", "-c", &script],
    );
    assert_eq!(c, 1, "{out}");
    assert!(
        out.contains("did not finish within the timeout (300ms); killed"),
        "{out}"
    );
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    assert!(
        !std::path::Path::new(&format!("/proc/{}", pid.trim())).exists(),
        "the timed-out command {pid} is still there"
    );

    // The kubelet runs a probe with the container's env; respawn's own variables stay out, and
    // Rust's SIGPIPE ignore is not inherited (the child resets every ignored signal).
    let out = run(
        plain(&[
            "probe",
            "--control-socket",
            &sock,
            "--exec",
            "--",
            "sh",
            "-c",
            "test -z \"$RESPAWN_WATCH\" && test \"$APP_MODE\" = dev",
        ])
        .env("RESPAWN_WATCH", "/app")
        .env("APP_MODE", "dev"),
        20,
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run(
        &mut plain(&[
            "probe",
            "--control-socket",
            &sock,
            "--exec",
            "--",
            "grep",
            "SigIgn",
            "/proc/self/status",
        ]),
        20,
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let ignored = text
        .split_whitespace()
        .nth(1)
        .and_then(|hex| u64::from_str_radix(hex, 16).ok())
        .unwrap_or_else(|| panic!("no SigIgn in {text:?}"));
    assert_eq!(
        ignored & (1 << (libc::SIGPIPE - 1)),
        0,
        "SIGPIPE is ignored in the check: {text}"
    );
}

/// An HTTP server on `ip` answering each request with `status`; returns its port and the
/// requests it read (joined when the test drops the listener thread's channel).
fn http_server(ip: &str, status: &'static str, n: usize) -> (u16, std::thread::JoinHandle<Vec<String>>) {
    let l = std::net::TcpListener::bind((ip, 0)).unwrap();
    let port = l.local_addr().unwrap().port();
    let t = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for _ in 0..n {
            let (mut c, _) = l.accept().unwrap();
            let mut req = Vec::new();
            let mut buf = [0u8; 512];
            while !req.ends_with(b"\r\n\r\n") {
                match c.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(k) => req.extend_from_slice(&buf[..k]),
                }
            }
            let _ = c.write_all(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").as_bytes());
            seen.push(String::from_utf8_lossy(&req).into_owned());
        }
        seen
    });
    (port, t)
}

#[test]
fn http_and_tcp_checks_go_to_the_pod_ip() {
    let dir = tempdir();
    let sock = p(dir.path(), "nobody.sock");
    // 127.0.0.2 stands for the pod's IP: only RESPAWN_POD_IP leads there.
    let (port, server) = http_server("127.0.0.2", "204 No Content", 2);
    let port_s = port.to_string();
    let args = [
        "--http-get",
        &port_s,
        "--path",
        "/healthz",
        "--header",
        "X-Probe: yes",
    ];
    let mut all = vec!["probe", "--control-socket", &sock];
    all.extend_from_slice(&args);
    let out = run(plain(&all).env("RESPAWN_POD_IP", "127.0.0.2"), 20);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let (c, out) = probe(
        &sock,
        &["--host", "127.0.0.2", "--http-get", &port_s, "--path", "ready"],
    );
    assert_eq!(c, 0, "{out}");
    let reqs = server.join().unwrap();
    assert!(reqs[0].starts_with("GET /healthz HTTP/1.1\r\n"), "{}", reqs[0]);
    assert!(
        reqs[0].contains(&format!("Host: 127.0.0.2:{port}\r\n")),
        "{}",
        reqs[0]
    );
    assert!(reqs[0].contains("X-Probe: yes\r\n"), "{}", reqs[0]);
    assert!(reqs[1].starts_with("GET /ready HTTP/1.1\r\n"), "{}", reqs[1]);

    let (port, server) = http_server("127.0.0.2", "503 Service Unavailable", 1);
    let (c, out) = probe(&sock, &["--host", "127.0.0.2", "--http-get", &port.to_string()]);
    assert_eq!(c, 1, "{out}");
    assert!(out.contains("HTTP probe failed with statuscode: 503"), "{out}");
    server.join().unwrap();

    let l = std::net::TcpListener::bind("127.0.0.2:0").unwrap();
    let port = l.local_addr().unwrap().port().to_string();
    let out = run(
        plain(&["probe", "--control-socket", &sock, "--tcp-socket", &port])
            .env("RESPAWN_POD_IP", "127.0.0.2"),
        20,
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // Without the variable: 127.0.0.1, where nothing listens on that port.
    let out = run(
        plain(&["probe", "--control-socket", &sock, "--tcp-socket", &port]).env_remove("RESPAWN_POD_IP"),
        20,
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("dial tcp 127.0.0.1:{port}")),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_supervisor_without_probe_requests_still_gets_the_check() {
    let dir = tempdir();
    let sock = p(dir.path(), "old.sock");
    // An older supervisor answers an unknown request with an error.
    let l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let server = std::thread::spawn(move || {
        for _ in 0..2 {
            let (mut c, _) = l.accept().unwrap();
            let mut req = String::new();
            c.read_to_string(&mut req).unwrap();
            assert_eq!(req, "probe\n");
            c.write_all(b"error unknown request \"probe\"\n").unwrap();
        }
    });
    let (c, out) = probe(&sock, &["--exec", "--", "true"]);
    assert_eq!(c, 0, "{out}");
    assert!(
        out.contains("cannot tell whether it is restarting (unknown request"),
        "{out}"
    );
    let (c, _) = probe(&sock, &["--exec", "--", "false"]);
    assert_eq!(c, 1);
    server.join().unwrap();
}

#[test]
fn bad_flags_are_usage_errors_that_name_the_problem() {
    for (args, want) in [
        (&["probe"][..], "respawn: probe: no check given"),
        (
            &["probe", "--tcp-socket", "http"],
            "invalid value \"http\" for --tcp-socket",
        ),
        (
            &["probe", "--http-get", "80", "--exec", "--", "x"],
            "--http-get and --exec both given",
        ),
        (
            &["probe", "--grace", "forever", "--tcp-socket", "80"],
            "for --grace",
        ),
        (&["probe", "--exec"], "--exec needs the command after `--`"),
    ] {
        let out = run(&mut plain(args), 10);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(want), "{args:?}: {}", stderr(&out));
    }
    let out = run(&mut plain(&["probe", "--help"]), 10);
    assert_eq!(code(&out), 0);
    assert!(String::from_utf8_lossy(&out.stdout).contains("respawn probe [--grace D]"));
}
