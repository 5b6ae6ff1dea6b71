//! The static binary runs in an empty chroot (no /proc, no /dev, no libc, no shell) as PID 1.
//! Under `$RESPAWN_RUNNER` the (static) emulator is copied into the root and starts respawn.

mod common;
use common::*;
use std::process::{Command, Stdio};

#[test]
fn runs_as_pid1_in_an_empty_chroot() {
    let root = minimal_root();
    let r = root.path().to_str().unwrap();
    let out = run(
        Command::new("unshare")
            .args(["-pf", "chroot", r])
            .args(in_root())
            .args(["--", "/busybox", "sh", "-c", "echo $PPID; exit 5"]),
        20,
    );
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    // The child's parent is PID 1: respawn is PID 1 of the namespace.
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1");
}

#[test]
fn stops_and_reaps_in_an_empty_chroot() {
    let root = minimal_root();
    let r = root.path().to_str().unwrap();
    let child = Command::new("unshare")
        .args(["-pf", "chroot", r])
        .args(in_root())
        .args(["--stop-timeout", "500ms", "--", "/busybox", "sh", "-c"])
        .arg("( /busybox sleep 30 & ); trap '' TERM; touch /ready; while :; do /busybox sleep 0.05; done")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let sup = inner_pid(child.id());
    assert!(wait_file(&root.path().join("ready"), 10));
    signal(sup, "TERM");
    let out = finish(child, 20);
    // The shell ignores TERM, so the group gets SIGKILL after 500 ms; without /proc nothing
    // outside the group is visible, yet the orphaned sleep (in the group) is killed and reaped.
    assert_eq!(code(&out), 137, "{}", stderr(&out));
}

#[test]
fn install_works_in_an_empty_chroot() {
    let root = minimal_root();
    std::fs::create_dir(root.path().join("shared")).unwrap();
    let r = root.path().to_str().unwrap();
    let out = run(
        Command::new("chroot")
            .arg(r)
            .args(in_root())
            .args(["install", "/shared/respawn"]),
        20,
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        std::fs::read(root.path().join("shared/respawn")).unwrap(),
        std::fs::read(static_bin()).unwrap()
    );
}
