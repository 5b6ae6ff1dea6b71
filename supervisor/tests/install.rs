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
    let out = run(std::process::Command::new(&dest).arg("--version"), 10);
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
        bin().display()
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
