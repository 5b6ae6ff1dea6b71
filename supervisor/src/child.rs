//! Starting one process: its own process group, PATH lookup like `execvp`, signal reset, and
//! exec failures reported back through a close-on-exec pipe.

use crate::signals;
use crate::sys::{self, Pid};
use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;

/// PATH when the environment has none (musl's default).
const DEFAULT_PATH: &str = "/usr/local/bin:/bin:/usr/bin";

/// A command ready to be forked: every allocation happens here, before `fork`.
pub struct Command {
    argv: Vec<CString>,
    envp: Vec<CString>,
    candidates: Vec<CString>,
    /// The command as the user wrote it, for messages.
    pub program: String,
    searched_path: Option<String>,
}

/// Where the child's stdout/stderr go; `None` inherits ours.
#[derive(Clone, Copy, Default)]
pub struct Stdio {
    /// Write end for the child's stdout.
    pub stdout: Option<RawFd>,
    /// Write end for the child's stderr.
    pub stderr: Option<RawFd>,
}

/// Why a command could not be started.
#[derive(Debug)]
pub enum SpawnError {
    /// `exec` failed in the child with this errno.
    Exec(i32),
    /// fork/pipe failed in the supervisor.
    Os(io::Error),
}

impl Command {
    /// Prepares `argv` (non-empty) with exactly `env` as its environment.
    pub fn new(argv: &[OsString], env: &[(OsString, OsString)]) -> Command {
        let c = |s: &OsStr| CString::new(s.as_bytes()).unwrap_or_default();
        let program = argv[0].to_string_lossy().into_owned();
        let envp: Vec<CString> = env
            .iter()
            .filter_map(|(k, v)| {
                let mut kv = k.as_bytes().to_vec();
                kv.push(b'=');
                kv.extend_from_slice(v.as_bytes());
                CString::new(kv).ok()
            })
            .collect();
        let (candidates, searched_path) = if argv[0].as_bytes().contains(&b'/') {
            (vec![c(&argv[0])], None)
        } else {
            let path = env
                .iter()
                .find(|(k, _)| k == "PATH")
                .map(|(_, v)| v.to_string_lossy().into_owned())
                .unwrap_or_else(|| DEFAULT_PATH.to_string());
            let cands = path
                .split(':')
                .map(|dir| {
                    let dir = if dir.is_empty() { "." } else { dir };
                    let mut full = dir.as_bytes().to_vec();
                    full.push(b'/');
                    full.extend_from_slice(argv[0].as_bytes());
                    CString::new(full).unwrap_or_default()
                })
                .collect();
            (cands, Some(path))
        };
        Command {
            argv: argv.iter().map(|a| c(a)).collect(),
            envp,
            candidates,
            program,
            searched_path,
        }
    }

    /// Forks, puts the child in its own process group and execs. Returns once the exec has
    /// succeeded (the pid) or failed (the child's errno; the child is already reaped).
    pub fn spawn(&self, stdio: Stdio) -> Result<Pid, SpawnError> {
        let (rd, wr) = sys::pipe(0).map_err(SpawnError::Os)?;
        let argv = ptrs(&self.argv);
        let envp = ptrs(&self.envp);
        let cands = ptrs(&self.candidates);
        let tty = sys::is_foreground_tty(0);
        // SAFETY: the supervisor is single-threaded; the child only makes async-signal-safe
        // calls on memory prepared above and leaves through exec or _exit.
        let pid = unsafe { libc::fork() };
        if pid == -1 {
            return Err(SpawnError::Os(io::Error::last_os_error()));
        }
        if pid == 0 {
            in_child(&cands, &argv, &envp, wr.as_raw_fd(), tty, stdio);
        }
        // SAFETY: plain integers; losing the race with the child's own setpgid is harmless.
        unsafe { libc::setpgid(pid, pid) };
        drop(wr);
        let mut buf = [0u8; 4];
        let mut got = 0;
        while got < 4 {
            match sys::read(rd.as_raw_fd(), &mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) => return Err(SpawnError::Os(e)),
            }
        }
        if got == 0 {
            return Ok(pid);
        }
        let _ = sys::wait_blocking(pid);
        Err(SpawnError::Exec(i32::from_ne_bytes(buf)))
    }

    /// The message and exit code (127 not found, 126 otherwise) for an exec failure.
    pub fn describe_failure(&self, errno: i32) -> (String, i32) {
        let code = if errno == libc::ENOENT || errno == libc::ENOTDIR {
            127
        } else {
            126
        };
        let why = match (errno, &self.searched_path) {
            (libc::ENOENT, Some(path)) => format!("command not found in PATH ({path})"),
            (libc::EACCES, _) => "permission denied (is it executable?)".to_string(),
            (libc::ENOEXEC, _) => "exec format error (not a binary; a script needs a #! line)".to_string(),
            _ => sys::strerror(errno).to_lowercase(),
        };
        (format!("cannot run `{}`: {why}", self.program), code)
    }
}

fn ptrs(v: &[CString]) -> Vec<*const libc::c_char> {
    v.iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

/// The child side of `spawn`. Never returns.
fn in_child(
    cands: &[*const libc::c_char],
    argv: &[*const libc::c_char],
    envp: &[*const libc::c_char],
    report: RawFd,
    tty: bool,
    stdio: Stdio,
) -> ! {
    // SAFETY: all calls below are async-signal-safe and use memory that stays valid (the
    // parent's copy-on-write image); the pointer arrays are NULL-terminated.
    unsafe {
        libc::setpgid(0, 0);
        if tty {
            // SIGTTOU is still blocked here, so a background group may take the terminal.
            libc::tcsetpgrp(0, libc::getpid());
        }
        if let Some(fd) = stdio.stdout {
            libc::dup2(fd, 1);
        }
        if let Some(fd) = stdio.stderr {
            libc::dup2(fd, 2);
        }
        signals::reset_in_child();
        let mut err = libc::ENOENT;
        let mut eacces = false;
        for &path in &cands[..cands.len() - 1] {
            libc::execve(path, argv.as_ptr(), envp.as_ptr());
            err = *libc::__errno_location();
            match err {
                libc::EACCES => eacces = true,
                libc::ENOENT | libc::ENOTDIR | libc::ESTALE | libc::ELOOP | libc::ENAMETOOLONG => {}
                _ => break,
            }
        }
        if eacces && err != libc::ENOEXEC {
            err = libc::EACCES;
        }
        let bytes = err.to_ne_bytes();
        libc::write(report, bytes.as_ptr().cast(), 4);
        libc::_exit(127);
    }
}

/// The exit code a shell would report for a wait status: the code, or 128+signal.
pub fn exit_code(status: libc::c_int) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        255
    }
}

/// "exit code 3" / "signal SIGKILL" for messages.
pub fn describe_status(status: libc::c_int) -> String {
    if libc::WIFSIGNALED(status) {
        format!("signal {}", signals::name(libc::WTERMSIG(status)))
    } else {
        format!("exit code {}", exit_code(status))
    }
}
