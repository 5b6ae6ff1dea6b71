//! Signals: names, a signalfd that receives every catchable signal, and the reset a child
//! needs before `exec`.
//!
//! The supervisor blocks all signals and reads them synchronously from one signalfd, so the
//! event loop never runs handler code and never wakes up without a reason.

use crate::sys::{self, Pid};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};

/// The highest signal number on Linux.
pub const MAX: libc::c_int = 64;

/// `SIGTERM`, or `SIG34` for signals without a classic name (names from the shared table).
pub fn name(sig: libc::c_int) -> String {
    match respawn_settings::SIGNAL_NAMES.iter().find(|&&(_, s)| s == sig) {
        Some((n, _)) => format!("SIG{n}"),
        None => format!("SIG{sig}"),
    }
}

/// Every signal 1..=64. Built by hand: libc's `sigfillset` leaves out the signals it reserves
/// for threads (32-34 in musl), which would otherwise keep their default action for us.
fn full_set() -> libc::sigset_t {
    let mut set = MaybeUninit::<libc::sigset_t>::zeroed();
    // SAFETY: sigset_t is a plain bit array of at least 8 bytes (the kernel's 64 signals come
    // first); all-zero is a valid value, and we set the first 64 bits.
    unsafe {
        set.as_mut_ptr().cast::<u64>().write_unaligned(u64::MAX);
        set.assume_init()
    }
}

/// A signal received from the signalfd.
#[derive(Clone, Copy, Debug)]
pub struct Received {
    /// The signal number.
    pub signo: libc::c_int,
    /// The sender's pid (0 when sent from outside our PID namespace or by the kernel).
    pub sender: Pid,
}

/// All signals blocked and delivered through one non-blocking signalfd.
pub struct SignalFd {
    fd: OwnedFd,
}

impl SignalFd {
    /// Blocks every signal in this (single-threaded) process and opens a signalfd for them.
    pub fn new() -> io::Result<SignalFd> {
        let set = full_set();
        // SAFETY: set is initialised; a null old-set pointer is allowed.
        sys::cvt(unsafe { libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut()) })?;
        // SAFETY: set is initialised; -1 asks for a new descriptor.
        let fd = sys::cvt(unsafe { libc::signalfd(-1, &set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC) })?;
        // SAFETY: signalfd returned a fresh descriptor that nobody else owns.
        Ok(SignalFd {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Drains every pending signal into `out` (at most one entry per standard signal).
    pub fn read(&self, out: &mut Vec<Received>) -> io::Result<()> {
        const SZ: usize = std::mem::size_of::<libc::signalfd_siginfo>();
        let mut buf = [0u8; SZ * 8];
        loop {
            let n = match sys::read(self.fd.as_raw_fd(), &mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e),
            };
            for chunk in buf[..n].chunks_exact(SZ) {
                // SAFETY: the kernel wrote whole signalfd_siginfo records; read_unaligned
                // copes with the byte buffer's alignment.
                let info: libc::signalfd_siginfo = unsafe { std::ptr::read_unaligned(chunk.as_ptr().cast()) };
                out.push(Received {
                    signo: info.ssi_signo as libc::c_int,
                    sender: info.ssi_pid as Pid,
                });
            }
            if n < buf.len() {
                return Ok(());
            }
        }
    }
}

impl AsRawFd for SignalFd {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Signals whose disposition a child must reset: those ignored when we started (an ignored
/// disposition survives `exec`; handlers do not). All of them until [`record_ignored`] ran.
static TO_RESET: AtomicU64 = AtomicU64::new(u64::MAX);

/// Records which signals are ignored in this process (from `/proc/self/status` `SigIgn`,
/// e.g. SIGPIPE, which the Rust runtime ignores), so a child resets just those.
pub fn record_ignored() {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let mask = status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok());
    if let Some(mask) = mask {
        TO_RESET.store(mask, Ordering::Relaxed);
    }
}

/// Restores default dispositions and an empty mask. Called in a forked child before `exec`:
/// only async-signal-safe calls, no allocation.
pub fn reset_in_child() {
    let mask = TO_RESET.load(Ordering::Relaxed);
    for sig in 1..=MAX {
        if mask & (1u64 << (sig - 1)) != 0 && sig != libc::SIGKILL && sig != libc::SIGSTOP {
            // SAFETY: signal() with SIG_DFL is async-signal-safe; invalid numbers just fail.
            unsafe { libc::signal(sig, libc::SIG_DFL) };
        }
    }
    let mut empty = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset initialises the set before sigprocmask reads it.
    unsafe {
        libc::sigemptyset(empty.as_mut_ptr());
        libc::sigprocmask(libc::SIG_SETMASK, empty.as_ptr(), std::ptr::null_mut());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(name(libc::SIGHUP), "SIGHUP");
        assert_eq!(name(libc::SIGSYS), "SIGSYS");
        assert_eq!(name(40), "SIG40");
    }
}
