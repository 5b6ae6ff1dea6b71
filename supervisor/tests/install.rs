//! `respawn install DEST`: an identical copy, mode 0755, and clear errors.

mod common;
use common::*;
use std::os::unix::fs::PermissionsExt;

#[test]
fn copies_itself_with_mode_0755() {
    let dir = tempdir();
    let dest = dir.path().join("respawn");
    std::fs::write(&dest, b"old contents").unwrap(); // replaced atomically
    let out = run(&mut plain(&["install", dest.to_str().unwrap()]), 10);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(std::fs::read(&dest).unwrap(), std::fs::read(bin()).unwrap());
    assert_eq!(
        std::fs::metadata(&dest).unwrap().permissions().mode() & 0o7777,
        0o755
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "temp file left behind");
    // The copy runs.
    let out = run(command_for(&dest).arg("--version"), 10);
    assert_eq!(code(&out), 0);
}

#[test]
fn missing_directory_is_a_clear_error() {
    let out = run(&mut plain(&["install", "/nonexistent-dir/respawn"]), 10);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("directory /nonexistent-dir does not exist"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn read_only_directory_is_a_clear_error() {
    let dir = tempdir();
    let d = dir.path().display();
    // A read-only tmpfs in a private mount namespace (root ignores permission bits).
    let s = format!(
        "mount -t tmpfs -o ro tmpfs {d} && exec {} install {d}/respawn",
        respawn_line()
    );
    let out = run(
        std::process::Command::new("unshare").args(["-m", "sh", "-c", &s]),
        10,
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("is not writable"), "{}", stderr(&out));
}

#[test]
fn dest_directory_and_missing_dest_are_errors() {
    let dir = tempdir();
    let out = run(&mut plain(&["install", dir.path().to_str().unwrap()]), 10);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("is a directory"), "{}", stderr(&out));
    let out = run(&mut plain(&["install"]), 10);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("missing DEST"));
}

/// `unshare -pf respawn install DEST`: the installer is PID 1 of a new PID namespace, as in a container.
fn install_as_pid1(dest: &std::path::Path) -> std::process::Command {
    let mut cmd = std::process::Command::new("unshare");
    cmd.args(["-pf", "--kill-child"])
        .args(respawn_argv())
        .arg("install")
        .arg(dest);
    cmd
}

#[test]
fn a_leftover_temp_file_of_a_killed_install_does_not_block_the_next() {
    // An init container killed mid-copy leaves its temp file in the emptyDir, which outlives it;
    // the retried init container is PID 1 again.
    let dir = tempdir();
    let dest = dir.path().join("respawn");
    for stale in [".respawn.tmp.1", ".respawn.tmp"] {
        std::fs::write(dir.path().join(stale), b"half a binary").unwrap();
    }
    let out = run(&mut install_as_pid1(&dest), 10);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(std::fs::read(&dest).unwrap(), std::fs::read(bin()).unwrap());
}

#[test]
fn concurrent_installs_into_one_volume_all_succeed() {
    // Several init containers (each PID 1) writing into one shared volume: podman's kube play
    // shares an emptyDir by name across pods; a hostPath or PVC can be shared the same way.
    let dir = tempdir();
    let dest = dir.path().join("respawn");
    let children: Vec<_> = (0..8)
        .map(|_| {
            install_as_pid1(&dest)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = finish(child, 20);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }
    assert_eq!(std::fs::read(&dest).unwrap(), std::fs::read(bin()).unwrap());
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["respawn"], "temp files left behind");
}
