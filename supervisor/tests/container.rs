//! Inside a real runc container (podman): a FROM scratch image holding only the static
//! respawn and busybox. Exit codes propagate and `podman stop` (SIGTERM to PID 1) reaches the
//! child; a child ignoring it is SIGKILLed after the stop timeout. One `podman cp` of the
//! trigger file into the running container is exactly one restart.

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

fn build_image(test: &str) -> Image {
    build_image_with(test, "")
}

/// Like [`build_image`], with `extra` appended to the Containerfile (files from a minimal root).
fn build_image_with(test: &str, extra: &str) -> Image {
    let root = minimal_root();
    std::fs::create_dir(root.path().join("tmp")).unwrap();
    std::fs::write(
        root.path().join("Containerfile"),
        format!("FROM scratch\nCOPY respawn busybox /\n{extra}"),
    )
    .unwrap();
    let tag = format!("localhost/respawn-supervisor-test-{test}:{}", std::process::id());
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
    if native_only("pid1_in_a_scratch_runc_container", QEMU_FOREIGN_IMAGE) {
        return;
    }
    let img = build_image("pid1");
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

#[test]
fn restart_and_status_in_a_read_only_container() {
    if native_only("restart_and_status_in_a_read_only_container", QEMU_FOREIGN_IMAGE) {
        return;
    }
    // Like distroless with readOnlyRootFilesystem: nothing is writable, not even /tmp.
    let img = build_image("ro");
    let name = format!("respawn-test-ro-{}", std::process::id());
    let script = "echo started $$; while :; do /busybox sleep 0.05; done";
    let args = [
        "run",
        "-d",
        "--read-only",
        "--read-only-tmpfs=false",
        "--name",
        &name,
        &img.0,
        "/respawn",
        "--",
        "/busybox",
        "sh",
        "-c",
        script,
    ];
    let out = podman(&args, 60);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // `kubectl exec POD -- /respawn/respawn restart` is `podman exec` here.
    let mut restarted = podman(&["exec", &name, "/respawn", "restart"], 60);
    for _ in 0..50 {
        if code(&restarted) == 0 {
            break;
        }
        settle(100); // the supervisor may not listen yet right after `run -d`
        restarted = podman(&["exec", &name, "/respawn", "restart"], 60);
    }
    let status = podman(&["exec", &name, "/respawn", "status"], 60);
    let logs = podman(&["logs", &name], 60);
    let _ = podman(&["rm", "-f", "-t", "0", &name], 60);
    assert_eq!(code(&restarted), 0, "{}", stderr(&restarted));
    let pid = String::from_utf8_lossy(&restarted.stdout).trim().to_string();
    let status = String::from_utf8_lossy(&status.stdout).to_string();
    assert!(
        status.contains("generation: 2") && status.contains(&format!("pid: {pid}")),
        "{status}"
    );
    let logs = String::from_utf8_lossy(&logs.stdout).to_string();
    assert!(
        logs.contains(&format!("started {pid}")),
        "new generation not in the logs:\n{logs}"
    );
}

/// `started PID` lines in the container's output.
fn starts(name: &str) -> usize {
    let logs = podman(&["logs", name], 60);
    String::from_utf8_lossy(&logs.stdout)
        .lines()
        .filter(|l| l.starts_with("started "))
        .count()
}

/// Waits up to 10 s for `n` starts, then 400 ms more for any extra one; returns the count.
fn wait_starts(name: &str, n: usize) -> usize {
    for _ in 0..100 {
        if starts(name) >= n {
            break;
        }
        settle(100);
    }
    settle(400);
    starts(name)
}

#[test]
fn podman_cp_of_the_trigger_file_restarts_once() {
    if native_only("podman_cp_of_the_trigger_file_restarts_once", QEMU_FOREIGN_IMAGE) {
        return;
    }
    // `podman cp` extracts a tar stream in the container: unlink, create, write, close, chown,
    // chmod twice, utimes — six events on /tmp/.restart-proc for one copy.
    let img = build_image_with("cp", "COPY tmp /tmp\n");
    let name = format!("respawn-test-cp-{}", std::process::id());
    let script = "echo started $$; while :; do /busybox sleep 0.05; done";
    let args = [
        "run", "-d", "--name", &name, &img.0, "/respawn", "--", "/busybox", "sh", "-c", script,
    ];
    let out = podman(&args, 60);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let src = tempdir();
    let file = p(src.path(), "restart-proc");
    std::fs::write(&file, "now\n").unwrap();
    let mut counts = vec![wait_starts(&name, 1)];
    let dest = format!("{name}:/tmp/.restart-proc");
    for i in 0..5 {
        let out = podman(&["cp", &file, &dest], 60);
        if code(&out) != 0 {
            let _ = podman(&["rm", "-f", "-t", "0", &name], 60);
            panic!("podman cp failed: {}", stderr(&out));
        }
        counts.push(wait_starts(&name, i + 2));
    }
    let logs = podman(&["logs", &name], 60);
    let _ = podman(&["rm", "-f", "-t", "0", &name], 60);
    assert_eq!(
        counts,
        vec![1, 2, 3, 4, 5, 6],
        "generations after each copy; logs:\n{}{}",
        String::from_utf8_lossy(&logs.stdout),
        String::from_utf8_lossy(&logs.stderr)
    );
}
