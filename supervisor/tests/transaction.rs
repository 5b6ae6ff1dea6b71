//! A restart is a transaction: stop signal → grace → SIGKILL, and the old generation's whole
//! tree — including processes that left the process group — is gone before the new one starts.

mod common;
use common::*;

#[test]
fn escaped_grandchild_ignoring_term_is_gone_before_the_next_start() {
    let dir = tempdir();
    let d = dir.path().display();
    // Each generation starts a grandchild in its own session (out of the group) that ignores
    // TERM, and first checks that no earlier grandchild is still alive.
    let s = format!(
        "for f in {d}/gc.*; do [ -e \"$f\" ] && kill -0 $(cat $f) 2>/dev/null && echo ALIVE >> {d}/log; done; \
         setsid sh -c 'trap \"\" TERM; echo $$ > {d}/gc.'$$'; while :; do sleep 0.05; done' & \
         echo start >> {d}/log; while :; do sleep 0.05; done"
    );
    let (child, sup) = spawn_pid1(&[
        "--trigger-file",
        "none",
        "--stop-timeout",
        "300ms",
        "--",
        "sh",
        "-c",
        &s,
    ]);
    let log = p(dir.path(), "log");
    assert_eq!(wait_lines(&log, 1, 10), vec!["start"]);
    settle(100);
    signal(sup, "HUP");
    assert_eq!(wait_lines(&log, 2, 10).len(), 2);
    settle(100);
    signal(sup, "HUP");
    assert_eq!(wait_lines(&log, 3, 10).len(), 3);
    assert_eq!(
        lines(&log),
        vec!["start", "start", "start"],
        "an old grandchild outlived its generation"
    );
    settle(100); // the last grandchild has set its TERM trap
    signal(sup, "TERM");
    let out = finish(child, 20);
    assert!(stderr(&out).contains("sending SIGKILL"), "{}", stderr(&out));
}

#[test]
fn port_held_by_the_old_generation_is_free_for_the_new_one() {
    let dir = tempdir();
    let log = p(dir.path(), "log");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // The server ignores SIGTERM (so only the SIGKILL after the grace frees the port) and
    // records whether it could bind.
    let py = format!(
        "import signal,socket,time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\ns=socket.socket()\n\
         try:\n  s.bind(('127.0.0.1',{port})); s.listen(); r='bound'\nexcept OSError as e:\n  r='busy'\n\
         open('{log}','a').write(r+'\\n')\ntime.sleep(100)\n"
    );
    let (child, sup) = spawn_pid1(&[
        "--trigger-file",
        "none",
        "--stop-timeout",
        "200ms",
        "--",
        "python3",
        "-c",
        &py,
    ]);
    assert_eq!(wait_lines(&log, 1, 20), vec!["bound"]);
    signal(sup, "HUP");
    assert_eq!(wait_lines(&log, 2, 20), vec!["bound", "bound"]);
    signal(sup, "TERM");
    finish(child, 20);
}
