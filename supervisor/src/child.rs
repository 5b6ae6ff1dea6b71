//! Starting one process: its own process group, PATH lookup like `execvp`, signal reset, and
//! exec failures reported back through a close-on-exec pipe.

use crate::signals;
use crate::sys::{self, Pid};
use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::RawFd;
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

    /// Starts the child in its own process group and returns once its `exec` has succeeded
    /// (the pid) or failed (the child's errno; the child is already reaped).
    ///
    /// `clone(CLONE_VM | CLONE_VFORK)` on a separate stack, like musl's `posix_spawn`: no page
    /// tables are copied and we resume exactly when the child has exec'd or exited, so an exec
    /// error simply sits in the shared [`ChildArgs`].
    pub fn spawn(&self, stdio: Stdio) -> Result<Pid, SpawnError> {
        let argv = ptrs(&self.argv);
        let envp = ptrs(&self.envp);
        let cands = ptrs(&self.candidates);
        let mut args = ChildArgs {
            cands: &cands[..cands.len() - 1],
            argv: argv.as_ptr(),
            envp: envp.as_ptr(),
            tty: sys::is_foreground_tty(0),
            stdio,
            err: 0,
        };
        let mut stack = vec![0u8; CHILD_STACK];
        // The stack grows down: pass its 16-byte aligned top.
        let top = (stack.as_mut_ptr() as usize + CHILD_STACK) & !15;
        // SAFETY: `child_main` runs on its own stack and only touches `args` (which outlives
        // the call: CLONE_VFORK suspends us until the child has exec'd or exited) with
        // async-signal-safe calls; the child has its own signal-handler table (no CLONE_SIGHAND).
        let pid = unsafe {
            libc::clone(
                child_main,
                top as *mut libc::c_void,
                libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
                (&mut args as *mut ChildArgs).cast(),
            )
        };
        if pid == -1 {
            return Err(SpawnError::Os(io::Error::last_os_error()));
        }
        // SAFETY: CLONE_VFORK guarantees the child no longer writes `args`; read it volatile
        // because the compiler cannot see that write.
        let err = unsafe { std::ptr::read_volatile(&args.err) };
        if err != 0 {
            let _ = sys::wait_blocking(pid);
            return Err(SpawnError::Exec(err));
        }
        // SAFETY: plain integers; the child already did this itself (harmless repeat).
        unsafe { libc::setpgid(pid, pid) };
        Ok(pid)
    }

    /// The message and exit code for a failed `spawn`: 127 when the program is not found, 126
    /// otherwise.
    pub fn spawn_failure(&self, e: SpawnError) -> (String, i32) {
        match e {
            SpawnError::Exec(errno) => self.describe_failure(errno),
            SpawnError::Os(e) => (format!("cannot start `{}`: {e}", self.program), 126),
        }
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

/// Stack size of the cloned child until its `exec` (it only makes a few syscalls).
const CHILD_STACK: usize = 64 * 1024;

/// What the cloned child needs; it writes `err` when every `exec` failed.
struct ChildArgs<'a> {
    cands: &'a [*const libc::c_char],
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    tty: bool,
    stdio: Stdio,
    err: i32,
}

/// The child side of `spawn`: own process group, terminal, stdio, signals, then `exec`.
extern "C" fn child_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the parent's `ChildArgs`, alive and untouched while we run (CLONE_VFORK).
    let a = unsafe { &mut *arg.cast::<ChildArgs>() };
    // SAFETY: only async-signal-safe calls on memory prepared by the parent; the pointer arrays
    // are NULL-terminated. We leave through a successful exec or _exit.
    unsafe {
        libc::setpgid(0, 0);
        if a.tty {
            // SIGTTOU is still blocked here, so a background group may take the terminal.
            libc::tcsetpgrp(0, libc::getpid());
        }
        if let Some(fd) = a.stdio.stdout {
            libc::dup2(fd, 1);
        }
        if let Some(fd) = a.stdio.stderr {
            libc::dup2(fd, 2);
        }
        signals::reset_in_child();
        let mut err = libc::ENOENT;
        let mut eacces = false;
        for &path in a.cands {
            libc::execve(path, a.argv, a.envp);
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
        std::ptr::write_volatile(&mut a.err, err);
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
