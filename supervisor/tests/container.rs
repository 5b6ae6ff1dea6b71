//! Inside a real runc container (podman): a FROM scratch image holding only the static
//! respawn and busybox. Exit codes propagate and `podman stop` (SIGTERM to PID 1) reaches the
//! child; a child ignoring it is SIGKILLed after the stop timeout.

mod common;
use common::*;
use std::process::Command;

struct Image(String);

impl Drop for Image {
    fn drop(&mut self) {
        let _ = Command::new("podman").args(["rmi", "-f", &self.0]).output();
    }
}

fn podman(args: &[&str], secs: u64) -> std::process::Output {
    run(Command::new("podman").args(args), secs)
}

fn build_image() -> Image {
    let root = minimal_root();
    std::fs::write(
        root.path().join("Containerfile"),
        "FROM scratch\nCOPY respawn busybox /\n",
    )
    .unwrap();
    let tag = format!("localhost/respawn-supervisor-test:{}", std::process::id());
    let out = podman(&["build", "-q", "-t", &tag, root.path().to_str().unwrap()], 120);
    assert_eq!(
        code(&out),
        0,
        "podman build failed (run make deps): {}",
        stderr(&out)
    );
    Image(tag)
}

#[test]
fn pid1_in_a_scratch_runc_container() {
    let img = build_image();
    let out = podman(
        &[
            "run",
            "--rm",
            &img.0,
            "/respawn",
            "--",
            "/busybox",
            "sh",
            "-c",
            "/busybox cat /proc/1/comm; exit 3",
        ],
        60,
    );
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "respawn",
        "respawn is not PID 1"
    );

    // podman stop sends SIGTERM to PID 1; the child's TERM handler decides the code.
    let name = format!("respawn-test-stop-{}", std::process::id());
    let script = "trap 'exit 42' TERM; while :; do /busybox sleep 0.05; done";
    let out = podman(
        &[
            "run", "-d", "--name", &name, &img.0, "/respawn", "--", "/busybox", "sh", "-c", script,
        ],
        60,
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let _ = podman(&["stop", "-t", "20", &name], 60);
    let out = podman(&["wait", &name], 60);
    let _ = podman(&["rm", "-f", &name], 60);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "42");

    // A child that ignores SIGTERM: respawn's own stop timeout (1 s) ends it with SIGKILL,
    // long before podman's 20 s.
    let name = format!("respawn-test-kill-{}", std::process::id());
    let script = "trap '' TERM; while :; do /busybox sleep 0.05; done";
    let args = [
        "run",
        "-d",
        "--name",
        &name,
        &img.0,
        "/respawn",
        "--stop-timeout",
        "1s",
        "--",
        "/busybox",
        "sh",
        "-c",
        script,
    ];
    assert_eq!(code(&podman(&args, 60)), 0);
    let _ = podman(&["stop", "-t", "20", &name], 60);
    let out = podman(&["wait", &name], 60);
    let logs = podman(&["logs", &name], 60);
    let _ = podman(&["rm", "-f", &name], 60);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "137");
    assert!(stderr(&logs).contains("sending SIGKILL"), "{}", stderr(&logs));
}
