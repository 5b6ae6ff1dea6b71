//! The `--exec` check: run the probe's command with the container's environment (without
//! respawn's `RESPAWN_*` variables, as the kubelet would run it) and wait for it within the
//! timeout; past it the command's process group is killed.

use super::Failure;
use crate::child::{self, Command};
use crate::sys::{self, Pid};
use std::ffi::OsString;
use std::time::{Duration, Instant};

/// Runs `cmd`; success is exit code 0.
pub fn check(cmd: &[OsString], deadline: Instant, timeout: Duration) -> Result<(), Failure> {
    let env = crate::env::inherited();
    let c = Command::new(cmd, &env);
    let pid = c.spawn(child::Stdio::default()).map_err(|e| {
        let (msg, code) = c.spawn_failure(e);
        Failure { code, msg }
    })?;
    match wait_until(pid, deadline) {
        Some(Ok(0)) => Ok(()),
        Some(Ok(status)) => Err(Failure {
            code: child::exit_code(status),
            msg: format!("`{}` failed ({})", c.program, child::describe_status(status)),
        }),
        Some(Err(e)) => Err(Failure::new(format!("waiting for `{}`: {e}", c.program))),
        None => {
            let _ = sys::kill(-pid, libc::SIGKILL);
            let _ = sys::wait_blocking(pid);
            Err(Failure::new(format!(
                "`{}` did not finish within the timeout ({timeout:?}); killed",
                c.program
            )))
        }
    }
}

/// The wait status of `pid`, or `None` once `deadline` has passed. Sleeps in `poll` on a
/// pidfd; kernels without `pidfd_open` (before 5.3) get a 5 ms `waitpid` loop.
fn wait_until(pid: Pid, deadline: Instant) -> Option<std::io::Result<libc::c_int>> {
    let pidfd = sys::pidfd_open(pid).ok();
    loop {
        match sys::wait_nohang(pid) {
            Ok(Some((_, status))) => return Some(Ok(status)),
            Ok(None) => {}
            Err(e) => return Some(Err(e)),
        }
        if Instant::now() >= deadline {
            return None;
        }
        match &pidfd {
            Some(fd) => {
                let _ = sys::poll(&mut [sys::pollin(fd)], Some(deadline));
            }
            None => std::thread::sleep(
                Duration::from_millis(5).min(deadline.saturating_duration_since(Instant::now())),
            ),
        }
    }
}
