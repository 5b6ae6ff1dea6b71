//! One copy of the trigger file is one restart. `podman cp`, `kubectl cp` and Tilt's
//! `restart_process` deliver `/tmp/.restart-proc` through a tar extract: (unlink,) create, write,
//! close, then chown/chmod/utimes — or a temp file renamed into place — so one copy is a burst
//! of inotify events that may straddle the restart its first event started. These tests do
//! exactly that (in-process with pauses between the steps, with GNU `tar -xf`, and with a real
//! `podman cp` into a runc container) against the default `/tmp/.restart-proc` of a supervisor
//! that is PID 1 with a private /tmp, and count the generations: each start appends its pid.

mod common;
use common::*;
use std::ffi::CString;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A child that appends its pid to `log` and then idles; it dies at once on SIGTERM, so the
/// next generation starts as fast as the supervisor allows (the worst case for a straddling burst).
fn logger(log: &str) -> String {
    format!("echo $$ >> {log}; while :; do sleep 0.05; done")
}

/// A supervisor (PID 1, private /tmp, default trigger file) and the trigger file as seen from here.
struct Sup {
    child: Option<std::process::Child>,
    pid: u32,
    log: String,
    _dir: tempfile::TempDir,
}

impl Sup {
    fn start() -> Sup {
        let dir = tempdir();
        let log = p(dir.path(), "pids");
        let (child, pid) = spawn_pid1_private_tmp(":", &["--", "sh", "-c", &logger(&log)]);
        let mut sup = Sup {
            child: Some(child),
            pid,
            log,
            _dir: dir,
        };
        if wait_lines(&sup.log, 1, 10).len() != 1 {
            panic!("child did not start: {}", sup.stop());
        }
        // The trigger watch is armed 50 ms after the start; a copy before that would count via mtime.
        settle(150);
        sup
    }

    /// `/tmp/.restart-proc` inside the supervisor's mount namespace.
    fn trigger(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/root/tmp/.restart-proc", self.pid))
    }

    fn tmp(&self, name: &str) -> PathBuf {
        PathBuf::from(format!("/proc/{}/root/tmp/{name}", self.pid))
    }

    fn generations(&self) -> usize {
        lines(&self.log).len()
    }

    /// Waits for generation `n`, then checks that no further one follows within 400 ms.
    fn expect_exactly(&self, n: usize, what: &str) {
        let got = wait_lines(&self.log, n, 10).len();
        assert!(got >= n, "{what}: no restart (generations: {got}, want {n})");
        settle(400);
        let got = self.generations();
        assert_eq!(got, n, "{what}: {} restarts instead of one", got + 1 - n);
    }

    /// Stops the supervisor; returns its stderr.
    fn stop(&mut self) -> String {
        let Some(child) = self.child.take() else {
            return String::new();
        };
        signal(self.pid, "TERM");
        stderr(&finish(child, 20))
    }
}

impl Drop for Sup {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.stop();
        }
    }
}

fn pause(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

/// `utimensat(path, times, AT_SYMLINK_NOFOLLOW)` with both times set to `secs` (tar restores
/// the archive's mtime).
fn set_times(path: &Path, secs: i64) {
    let c = CString::new(path.as_os_str().as_bytes()).unwrap();
    let t = libc::timespec {
        tv_sec: secs,
        tv_nsec: 0,
    };
    let times = [t, t];
    // SAFETY: valid NUL-terminated path and a two-element timespec array for the call.
    let r = unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            c.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    assert_eq!(
        r,
        0,
        "utimensat {}: {}",
        path.display(),
        std::io::Error::last_os_error()
    );
}

/// The metadata steps of an extract: lchown, chmod (twice, as podman's copier does), utimes,
/// with `gap` ms between them.
fn restore_metadata(path: &Path, gap: u64) {
    use std::os::unix::fs::PermissionsExt;
    std::os::unix::fs::lchown(path, Some(0), Some(0)).unwrap();
    pause(gap);
    for _ in 0..2 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
        pause(gap);
    }
    set_times(path, 1_700_000_000);
}

/// What podman's copier (and GNU tar) do to a regular file: unlink an existing one, create it
/// with `O_CREAT|O_EXCL|O_TRUNC`, write in two chunks `stall` ms apart, close, and restore owner,
/// mode and times with `gap` ms between the steps.
fn copy_like_tar(path: &Path, gap: u64, stall: u64) {
    let _ = std::fs::remove_file(path);
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    pause(gap);
    f.write_all(b"Sat Nov 21 13:24:35 UTC 2026\n").unwrap();
    pause(stall);
    f.write_all(b"more\n").unwrap();
    drop(f);
    pause(gap);
    restore_metadata(path, gap);
}

#[test]
fn tar_like_copy_with_pauses_restarts_once_per_copy() {
    let mut sup = Sup::start();
    // New file, then over an existing one; steps back to back, then a few ms apart.
    for (i, gap) in [0, 0, 3, 3, 8].into_iter().enumerate() {
        copy_like_tar(&sup.trigger(), gap, gap);
        sup.expect_exactly(i + 2, &format!("copy {} ({gap} ms between steps)", i + 1));
    }
    sup.stop();
}

#[test]
fn copy_stalled_mid_stream_restarts_once() {
    // A slow stream (kubectl cp over a slow link): 300 ms between two chunks of the content.
    // The half-written file holds the restart back until it is closed.
    let mut sup = Sup::start();
    copy_like_tar(&sup.trigger(), 1, 300);
    sup.expect_exactly(2, "stalled copy");
    sup.stop();
}

#[test]
fn temp_file_renamed_into_place_restarts_once() {
    // Extractors that write a temp file and rename it over the target, then fix its metadata.
    let mut sup = Sup::start();
    for (i, gap) in [0, 3].into_iter().enumerate() {
        let tmp = sup.tmp(&format!(".restart-proc.tmp{i}"));
        std::fs::write(&tmp, "x").unwrap();
        restore_metadata(&tmp, gap);
        std::fs::rename(&tmp, sup.trigger()).unwrap();
        pause(gap);
        restore_metadata(&sup.trigger(), gap);
        sup.expect_exactly(i + 2, &format!("rename copy {}", i + 1));
    }
    sup.stop();
}

#[test]
fn touch_right_after_the_new_generation_restarts_again() {
    // Coalescing must not swallow a genuine request: a touch once the new generation runs.
    let mut sup = Sup::start();
    copy_like_tar(&sup.trigger(), 3, 3);
    let got = wait_lines(&sup.log, 2, 10).len();
    assert_eq!(got, 2, "one copy: {got} generations instead of 2");
    let ok = Command::new("/bin/busybox")
        .args(["touch", sup.trigger().to_str().unwrap()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    sup.expect_exactly(3, "touch after the new generation started");
    std::fs::write(sup.trigger(), "again").unwrap();
    sup.expect_exactly(4, "write after that");
    sup.stop();
}

#[test]
fn tar_extract_into_tmp_restarts_once_per_extract() {
    // `kubectl cp FILE POD:/tmp/.restart-proc` runs `tar -xmf - -C /tmp` in the container: GNU
    // tar (unlink, create, write, utimes, chown, chmod, close) or, in Alpine-style images,
    // busybox tar (unlink, create, write, close, read /etc/passwd and /etc/group, chown, chmod,
    // utimes). Plain `-xf` also restores the mtime.
    let src = tempdir();
    std::fs::write(src.path().join(".restart-proc"), "now\n").unwrap();
    let archive = p(src.path(), "trigger.tar");
    let dir = src.path().to_str().unwrap();
    let st = Command::new("tar")
        .args(["-cf", &archive, "-C", dir, ".restart-proc"])
        .status()
        .unwrap();
    assert!(st.success(), "tar -cf failed");
    let busybox = busybox();
    let busybox = busybox.to_str().unwrap();
    let mut sup = Sup::start();
    let tars: [&[&str]; 6] = [
        &["tar", "-xf"],
        &["tar", "-xf"],
        &["tar", "-xmf"],
        &[busybox, "tar", "-xf"],
        &[busybox, "tar", "-xf"],
        &[busybox, "tar", "-xmf"],
    ];
    for (i, tar) in tars.into_iter().enumerate() {
        let pid = sup.pid.to_string();
        let mut cmd = Command::new("nsenter");
        cmd.args(["-t", &pid, "-m"])
            .args(tar)
            .args([&archive, "-C", "/tmp"]);
        let out = run(&mut cmd, 20);
        assert_eq!(code(&out), 0, "{tar:?}: {}", stderr(&out));
        sup.expect_exactly(i + 2, &format!("{tar:?} (extract {})", i + 1));
    }
    sup.stop();
}
