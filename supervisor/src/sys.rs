//! Thin, checked wrappers over the raw Linux calls the supervisor needs.
//!
//! Every `unsafe` block of the core lives here or in `signals.rs`/`child.rs`, each with a
//! `// SAFETY:` note; the rest of the crate calls these safe functions.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

/// A process id.
pub type Pid = libc::pid_t;

/// Turns a `-1` return value into the current `errno`.
pub fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Our own process id.
pub fn getpid() -> Pid {
    // SAFETY: getpid has no preconditions and cannot fail.
    unsafe { libc::getpid() }
}

/// Sends `sig` to `pid` (negative: a process group). `sig == 0` only probes.
pub fn kill(pid: Pid, sig: libc::c_int) -> io::Result<()> {
    // SAFETY: kill takes plain integers; errors come back as -1/errno.
    cvt(unsafe { libc::kill(pid, sig) }).map(|_| ())
}

/// True while at least one process of group `pgid` exists.
pub fn group_alive(pgid: Pid) -> bool {
    pgid > 0 && !matches!(kill(-pgid, 0), Err(e) if e.raw_os_error() == Some(libc::ESRCH))
}

/// One `waitpid(pid, WNOHANG)` call: `Ok(None)` when children exist but none has exited,
/// `Err(ECHILD)` when there are no children at all.
pub fn wait_nohang(pid: Pid) -> io::Result<Option<(Pid, libc::c_int)>> {
    let mut status = 0;
    // SAFETY: status is a valid out pointer for the duration of the call.
    let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    match r {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(None),
        p => Ok(Some((p, status))),
    }
}

/// A blocking `waitpid` for one specific child, retrying on EINTR.
pub fn wait_blocking(pid: Pid) -> io::Result<libc::c_int> {
    let mut status = 0;
    loop {
        // SAFETY: status is a valid out pointer for the duration of the call.
        if unsafe { libc::waitpid(pid, &mut status, 0) } != -1 {
            return Ok(status);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// A pidfd for child `pid` (close-on-exec): readable once the child has exited (Linux ≥ 5.3).
pub fn pidfd_open(pid: Pid) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes plain integers and returns a new descriptor or -1/errno.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the syscall succeeded, so `fd` is a new descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// A close-on-exec pipe: `(read end, write end)`.
pub fn pipe(flags: libc::c_int) -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: fds has room for the two descriptors pipe2 writes.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | flags) })?;
    // SAFETY: pipe2 succeeded, so both descriptors are open and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Sets `O_NONBLOCK` on `fd`.
pub fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl with F_GETFL/F_SETFL on a descriptor we own; no pointers involved.
    unsafe {
        let flags = cvt(libc::fcntl(fd, libc::F_GETFL))?;
        cvt(libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK)).map(|_| ())
    }
}

/// `read(2)`, retrying on EINTR. `Ok(0)` is end of file.
pub fn read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        // SAFETY: buf is valid for writes of buf.len() bytes.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Writes all of `buf` to `fd` (blocking descriptors), retrying on EINTR.
pub fn write_all(fd: RawFd, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        // SAFETY: buf is valid for reads of buf.len() bytes.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        buf = &buf[n as usize..];
    }
    Ok(())
}

/// Waits on `fds` until one is ready or `deadline` passes (`None`: no timeout).
pub fn poll(fds: &mut [libc::pollfd], deadline: Option<Instant>) -> io::Result<usize> {
    let timeout = match deadline {
        None => -1,
        Some(d) => {
            let left = d.saturating_duration_since(Instant::now());
            // Round up so we never wake a millisecond early and spin.
            (left + Duration::from_nanos(999_999))
                .as_millis()
                .min(i32::MAX as u128) as i32
        }
    };
    // SAFETY: fds is a valid, exclusively borrowed array of pollfd of the given length.
    let r = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
    match r {
        -1 if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => Ok(0),
        -1 => Err(io::Error::last_os_error()),
        n => Ok(n as usize),
    }
}

/// A `pollfd` asking for readability of `fd`.
pub fn pollin(fd: &impl AsRawFd) -> libc::pollfd {
    libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    }
}

/// Marks the calling process a child subreaper: orphaned descendants are reparented to us.
pub fn set_child_subreaper() -> io::Result<()> {
    // SAFETY: PR_SET_CHILD_SUBREAPER takes a plain integer argument.
    cvt(unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0) }).map(|_| ())
}

/// The text of an errno value, e.g. "No such file or directory".
pub fn strerror(errno: i32) -> String {
    let s = io::Error::from_raw_os_error(errno).to_string();
    // std formats "text (os error N)"; keep only the text.
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// `isatty(fd)` and we are in the terminal's foreground process group.
pub fn is_foreground_tty(fd: RawFd) -> bool {
    // SAFETY: isatty/tcgetpgrp/getpgrp take plain integers and have no memory effects.
    unsafe { libc::isatty(fd) == 1 && libc::tcgetpgrp(fd) == libc::getpgrp() }
}
