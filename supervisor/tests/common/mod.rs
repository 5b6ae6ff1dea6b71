//! Shared helpers for the black-box tests: find the real binary, run it as PID 1 of a fresh
//! PID namespace (`unshare -pf --mount-proc`), wait with a deadline, send signals.
//!
//! `$RESPAWN_RUNNER` (e.g. `qemu-aarch64-static`) runs the binary under test through an
//! emulator (see `emulator.rs`): `make test-arm64` runs these scenarios against the aarch64 build
//! that way.
#![allow(dead_code)]

mod emulator;
pub use emulator::*;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The binary under test: `$RESPAWN_BIN` (the static build) or cargo's debug build.
pub fn bin() -> PathBuf {
    match std::env::var_os("RESPAWN_BIN") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_BIN_EXE_respawn")),
    }
}

/// busybox-static, used as a shell inside empty roots. Fails loudly when missing.
pub fn busybox() -> PathBuf {
    let p = PathBuf::from("/bin/busybox");
    assert!(
        p.exists(),
        "/bin/busybox missing: install busybox-static (make deps)"
    );
    p
}

/// `respawn ARGS` as PID 1 of a new PID namespace with its own /proc.
pub fn pid1(args: &[&str]) -> Command {
    let mut c = Command::new("unshare");
    c.args(["-pf", "--kill-child", "--mount-proc"])
        .args(respawn_argv())
        .args(args);
    c.env_remove("RESPAWN_BIN").env_remove("RESPAWN_RUNNER");
    die_with_test(&mut c, libc::SIGKILL);
    c
}

/// Makes `cmd` receive `sig` when the test thread that started it ends (e.g. by a failed
/// assertion), so no supervisor outlives its test. With `unshare --kill-child` a SIGKILL of
/// unshare takes respawn, PID 1 of the namespace, and so the whole namespace with it.
pub fn die_with_test(cmd: &mut Command, sig: libc::c_int) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl(PR_SET_PDEATHSIG) is async-signal-safe and touches no memory.
    unsafe {
        cmd.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong, 0, 0, 0);
            Ok(())
        });
    }
}

/// `respawn ARGS` as an ordinary process (not PID 1).
pub fn plain(args: &[&str]) -> Command {
    let mut c = command_for(&bin());
    c.args(args)
        .env_remove("RESPAWN_BIN")
        .env_remove("RESPAWN_RUNNER");
    die_with_test(&mut c, libc::SIGTERM);
    c
}

/// Runs `cmd` to completion with captured output; panics (after killing it) past `secs`.
pub fn run(cmd: &mut Command, secs: u64) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    finish(child, secs)
}

/// Waits for a spawned child (with piped output) for at most `secs`.
pub fn finish(mut child: Child, secs: u64) -> Output {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while child.try_wait().expect("try_wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("wait");
            panic!(
                "timed out after {secs}s; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.wait_with_output().expect("wait_with_output")
}

/// Exit code of a finished command (panics on death by signal: the supervisor must exit).
pub fn code(out: &Output) -> i32 {
    out.status
        .code()
        .unwrap_or_else(|| panic!("killed by a signal: {:?}", out.status))
}

/// stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Waits until `path` exists (true) or `secs` pass (false).
pub fn wait_file(path: &Path, secs: u64) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !path.exists() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    true
}

/// Waits until `path` holds `want` (trimmed) or `secs` pass; returns the last content.
pub fn wait_content(path: &Path, want: &str, secs: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let got = std::fs::read_to_string(path).unwrap_or_default();
        if got.trim() == want || Instant::now() > deadline {
            return got.trim().to_string();
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The host pid of respawn inside `unshare -f` (`unshare_pid`'s only child).
pub fn inner_pid(unshare_pid: u32) -> u32 {
    let path = format!("/proc/{unshare_pid}/task/{unshare_pid}/children");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let kids = std::fs::read_to_string(&path).unwrap_or_default();
        if let Some(pid) = kids.split_whitespace().next().and_then(|p| p.parse().ok()) {
            return pid;
        }
        assert!(Instant::now() < deadline, "unshare {unshare_pid} has no child");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Sends `sig` (e.g. "TERM") to `pid` with kill(1).
pub fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .expect("kill")
        .success();
    assert!(ok, "kill -{sig} {pid} failed");
}

/// A scratch directory removed on drop.
pub fn tempdir() -> tempfile::TempDir {
    // Not under /tmp: some tests mount a private tmpfs there.
    let base = env!("CARGO_TARGET_TMPDIR");
    let base = if base.starts_with("/tmp/") {
        "/var/tmp"
    } else {
        base
    };
    tempfile::Builder::new()
        .prefix("respawn-test-")
        .tempdir_in(base)
        .expect("tempdir")
}

/// A path inside `dir` as &str (test paths are UTF-8).
pub fn p(dir: &Path, name: &str) -> String {
    dir.join(name).to_str().expect("utf-8 path").to_string()
}

/// A fully static respawn for empty roots: `$RESPAWN_BIN` when static (as `make test` sets it),
/// else the `make supervisor` build, brought up to date first with cargo.
pub fn static_bin() -> PathBuf {
    if is_static(&bin()) {
        return bin();
    }
    static BUILD: std::sync::Once = std::sync::Once::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    BUILD.call_once(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let out = Command::new(cargo)
            .current_dir(&root)
            .args([
                "build",
                "-q",
                "-p",
                "respawn",
                "--profile",
                "supervisor",
                "--target",
                "x86_64-unknown-linux-musl",
            ])
            .output()
            .expect("run cargo");
        assert!(
            out.status.success(),
            "building the static respawn failed: {}",
            stderr(&out)
        );
    });
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let built = target.join("x86_64-unknown-linux-musl/supervisor/respawn");
    assert!(is_static(&built), "{} is not a static binary", built.display());
    built
}

/// True when the ELF file has no PT_INTERP program header (no dynamic loader needed).
fn is_static(path: &Path) -> bool {
    let Ok(elf) = std::fs::read(path) else {
        return false;
    };
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(elf[0x20..0x28].try_into().unwrap()) as usize;
    let (size, num) = (u16_at(0x36), u16_at(0x38));
    !(0..num)
        .any(|i| u32::from_le_bytes(elf[phoff + i * size..phoff + i * size + 4].try_into().unwrap()) == 3)
}

/// An empty root directory holding only `/respawn` (static) and `/busybox`, and the runner as
/// `/runner` when there is one (it must be static too, as `qemu-aarch64-static` is).
pub fn minimal_root() -> tempfile::TempDir {
    let root = tempdir();
    std::fs::copy(static_bin(), root.path().join("respawn")).unwrap();
    std::fs::copy(busybox(), root.path().join("busybox")).unwrap();
    if let Some(r) = runner() {
        assert!(
            is_static(&r),
            "{} is not static: it cannot run in an empty root",
            r.display()
        );
        std::fs::copy(r, root.path().join("runner")).unwrap();
    }
    root
}

/// Spawns `respawn ARGS` as PID 1 (output piped); returns it and respawn's host pid.
pub fn spawn_pid1(args: &[&str]) -> (Child, u32) {
    let child = pid1(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let inner = inner_pid(child.id());
    (child, inner)
}

/// [`bin`], copied out of /tmp when it lives there (a checkout under /tmp, as CI may use), so
/// that a private tmpfs mounted on /tmp does not hide it.
fn bin_outside_tmp() -> PathBuf {
    static COPY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let b = bin();
    if !b.starts_with("/tmp") {
        return b;
    }
    COPY.get_or_init(|| {
        let dir = std::path::Path::new("/var/tmp").join(format!("respawn-test-bin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dest = dir.join("respawn");
        std::fs::copy(&b, &dest).unwrap();
        dest
    })
    .clone()
}

/// Like [`spawn_pid1`], with a private tmpfs on /tmp (for the default trigger and env files);
/// `setup` runs in that /tmp first (a shell snippet).
pub fn spawn_pid1_private_tmp(setup: &str, args: &[&str]) -> (Child, u32) {
    let script = format!("mount -t tmpfs tmpfs /tmp && {{ {setup} ; }} && exec \"$0\" \"$@\"");
    let mut cmd = Command::new("unshare");
    cmd.args(["-pf", "--kill-child", "--mount-proc", "sh", "-c", &script])
        .args(runner())
        .arg(bin_outside_tmp())
        .args(args);
    die_with_test(&mut cmd, libc::SIGKILL);
    let child = cmd
        .env_remove("RESPAWN_BIN")
        .env_remove("RESPAWN_RUNNER")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let inner = inner_pid(child.id());
    (child, inner)
}

/// Runs `respawn ARGS` inside the mount and PID namespaces of `pid` (like `kubectl exec`).
pub fn exec_in(pid: u32, args: &[&str]) -> Output {
    let mut c = Command::new("nsenter");
    c.args(["-t", &pid.to_string(), "-m", "-p"])
        .args(respawn_argv())
        .args(args)
        .env_remove("RESPAWN_BIN")
        .env_remove("RESPAWN_RUNNER");
    run(&mut c, 60)
}

/// Non-empty lines of a file (empty when missing).
pub fn lines(path: &str) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

/// Waits until `path` has at least `n` lines; returns them.
pub fn wait_lines(path: &str, n: usize, secs: u64) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let l = lines(path);
        if l.len() >= n || Instant::now() > deadline {
            return l;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Sleeps for `ms` milliseconds (to let a burst settle before counting).
pub fn settle(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}
