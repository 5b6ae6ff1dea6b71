//! Running the binary under test through an emulator (`$RESPAWN_RUNNER`, e.g.
//! `qemu-aarch64-static` for the aarch64 build), and the scenarios that cannot run that way:
//! they call [`native_only`], which says so on the test output instead of passing silently.

use super::bin;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `$RESPAWN_RUNNER`: the emulator the binary under test runs under, if any (a path, or a
/// name looked up in PATH).
pub fn runner() -> Option<PathBuf> {
    let r = PathBuf::from(std::env::var_os("RESPAWN_RUNNER").filter(|r| !r.is_empty())?);
    if r.components().count() > 1 {
        return Some(r);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .map(|d| d.join(&r))
        .find(|c| c.is_file());
    Some(found.unwrap_or_else(|| panic!("RESPAWN_RUNNER {} not found in PATH", r.display())))
}

/// The words that start the binary under test: `[runner,] bin`.
pub fn respawn_argv() -> Vec<OsString> {
    runner()
        .into_iter()
        .chain(std::iter::once(bin()))
        .map(PathBuf::into_os_string)
        .collect()
}

/// The same words for a shell command line (test paths need no quoting).
pub fn respawn_line() -> String {
    respawn_argv()
        .iter()
        .map(|w| w.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A command that runs `program` (e.g. a copy of the binary) through the runner, if any.
pub fn command_for(program: &Path) -> Command {
    match runner() {
        Some(r) => {
            let mut c = Command::new(r);
            c.arg(program);
            c
        }
        None => Command::new(program),
    }
}

/// True (after saying so on the test output, which `cargo test` does not capture for a raw
/// write to fd 2) when this scenario cannot run under the emulator: the caller returns.
/// `why` names what the emulator lacks, with the error it gives.
pub fn native_only(test: &str, why: &str) -> bool {
    let Some(r) = runner() else { return false };
    let msg = format!("\n*** NOT RUN under {}: {test}\n***   {why}\n", r.display());
    use std::io::Write;
    let _ = std::io::stderr().lock().write_all(msg.as_bytes());
    true
}

// What qemu-user cannot do, as Debian's qemu-user-static 7.2 behaves (docs/supervisor.md,
// "arm64 and qemu-user"): the reasons native-only scenarios give.

/// Not emulated: the subreaper prctl.
pub const QEMU_NO_SUBREAPER: &str = "prctl(PR_SET_CHILD_SUBREAPER) is not emulated: \
    `respawn: cannot become a child subreaper (Invalid argument (os error 22)); orphans will not be reaped`";
/// vfork is a fork: the exec error never reaches the parent.
pub const QEMU_VFORK_IS_FORK: &str = "clone(CLONE_VM|CLONE_VFORK) runs as a plain fork, so the exec \
    error the child leaves in shared memory never reaches respawn: `respawn -- /nonexistent` exits 127 \
    without its message, and a file that is not executable gives 127, not 126";
/// Realtime signals are renumbered between host and guest.
pub const QEMU_RT_RENUMBERED: &str = "realtime signals are renumbered (qemu keeps host signals for \
    itself): a child killed by signal 34 is reported to respawn as signal 32, so it exits 160, not 162";
/// runc execs the image's binary itself.
pub const QEMU_FOREIGN_IMAGE: &str = "runc execs the image's /respawn itself, and a foreign binary \
    needs qemu registered in binfmt_misc (kernel-wide, not changed by tests): `exec /respawn: exec format error`";

/// The ELF machine of the binary under test: `"x86_64"`, `"aarch64"` or `"other"`.
pub fn bin_machine() -> &'static str {
    let elf = std::fs::read(bin()).expect("read the binary under test");
    match u16::from_le_bytes([elf[0x12], elf[0x13]]) {
        0x3e => "x86_64",
        0xb7 => "aarch64",
        _ => "other",
    }
}

/// The words that start respawn inside a [`minimal_root`]: `[/runner,] /respawn`.
pub fn in_root() -> &'static [&'static str] {
    if runner().is_some() {
        &["/runner", "/respawn"]
    } else {
        &["/respawn"]
    }
}
