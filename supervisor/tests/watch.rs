//! `--watch`: a change under a watched tree restarts the child; one editor save or one
//! archive extract is one restart; ignored paths don't restart.

mod common;
use common::*;

fn logger(log: &str) -> String {
    format!("echo $$ >> {log}; while :; do sleep 0.05; done")
}

#[test]
fn one_editor_save_is_one_restart() {
    let dir = tempdir();
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("main.py"), "v1").unwrap();
    let log = p(dir.path(), "pids");
    let args = [
        "--watch",
        src.to_str().unwrap(),
        "--trigger-file",
        "none",
        "--",
        "sh",
        "-c",
        &logger(&log),
    ];
    let (child, sup) = spawn_pid1(&args);
    assert_eq!(wait_lines(&log, 1, 10).len(), 1);
    settle(100);
    // vim-style save: swap file, backup rename, write new file, remove backup.
    std::fs::write(src.join(".main.py.swp"), "swap").unwrap();
    std::fs::rename(src.join("main.py"), src.join("main.py~")).unwrap();
    std::fs::write(src.join("main.py"), "v2").unwrap();
    std::fs::remove_file(src.join("main.py~")).unwrap();
    std::fs::remove_file(src.join(".main.py.swp")).unwrap();
    assert_eq!(wait_lines(&log, 2, 10).len(), 2, "no restart after a save");
    settle(500);
    assert_eq!(lines(&log).len(), 2, "one save gave several restarts");
    // A tar extract of many files into a new subdirectory: one restart.
    let tar = dir.path().join("a.tar");
    let staging = dir.path().join("staging");
    std::fs::create_dir_all(staging.join("pkg")).unwrap();
    for i in 0..200 {
        std::fs::write(staging.join(format!("pkg/f{i}.txt")), format!("{i}")).unwrap();
    }
    let ok = std::process::Command::new("tar")
        .args([
            "-cf",
            tar.to_str().unwrap(),
            "-C",
            staging.to_str().unwrap(),
            "pkg",
        ])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let ok = std::process::Command::new("tar")
        .args(["-xf", tar.to_str().unwrap(), "-C", src.to_str().unwrap()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    assert_eq!(wait_lines(&log, 3, 10).len(), 3, "no restart after an extract");
    settle(500);
    assert_eq!(lines(&log).len(), 3, "one extract gave several restarts");
    signal(sup, "TERM");
    finish(child, 20);
}

#[test]
fn ignored_paths_do_not_restart() {
    let dir = tempdir();
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    let log = p(dir.path(), "pids");
    let args = [
        "--watch",
        src.to_str().unwrap(),
        "--ignore",
        "*.log",
        "--trigger-file",
        "none",
        "--",
        "sh",
        "-c",
        &logger(&log),
    ];
    let (child, sup) = spawn_pid1(&args);
    assert_eq!(wait_lines(&log, 1, 10).len(), 1);
    settle(100);
    std::fs::write(src.join("debug.log"), "noise").unwrap();
    settle(400);
    assert_eq!(lines(&log).len(), 1, "an ignored file restarted the child");
    std::fs::write(src.join("app.conf"), "x").unwrap();
    assert_eq!(wait_lines(&log, 2, 10).len(), 2);
    signal(sup, "TERM");
    finish(child, 20);
}

#[test]
fn forced_polling_is_announced_and_still_restarts() {
    let dir = tempdir();
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    let log = p(dir.path(), "pids");
    let args = [
        "--watch",
        src.to_str().unwrap(),
        "--trigger-file",
        "none",
        "--",
        "sh",
        "-c",
        &logger(&log),
    ];
    let mut cmd = pid1(&args);
    cmd.env("RESPAWN_WATCH_POLL", "100ms")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let sup = inner_pid(child.id());
    assert_eq!(wait_lines(&log, 1, 10).len(), 1);
    settle(300);
    std::fs::write(src.join("app.py"), "v2").unwrap();
    assert_eq!(wait_lines(&log, 2, 10).len(), 2, "no restart in polling mode");
    signal(sup, "TERM");
    let out = finish(child, 20);
    let err = stderr(&out);
    assert!(
        err.contains("respawn:") && err.to_lowercase().contains("poll"),
        "the polling fallback was not explained on stderr: {err}"
    );
}
