//! A minimal inotify(7) wrapper shared by the watcher and the trigger file: non-blocking,
//! close-on-exec, drained with one stack buffer, events parsed without alignment assumptions.

use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// One inotify event; `name` is empty for events about the watched object itself.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Event<'a> {
    pub wd: i32,
    pub mask: u32,
    pub name: &'a OsStr,
}

/// An inotify instance.
#[derive(Debug)]
pub(crate) struct Inotify {
    fd: OwnedFd,
}

impl Inotify {
    /// `inotify_init1(IN_NONBLOCK | IN_CLOEXEC)`.
    pub fn new() -> io::Result<Inotify> {
        // SAFETY: plain syscall with constant flags; the result is checked before use.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a freshly created descriptor that nothing else owns.
        Ok(Inotify {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// The descriptor to poll for readability.
    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Adds (or updates) a watch; returns its watch descriptor.
    pub fn add_watch(&self, path: &Path, mask: u32) -> io::Result<i32> {
        let c = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))?;
        // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
        let wd = unsafe { libc::inotify_add_watch(self.fd.as_raw_fd(), c.as_ptr(), mask) };
        if wd < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(wd)
        }
    }

    /// Removes a watch; errors (already gone) are ignored.
    pub fn rm_watch(&self, wd: i32) {
        // SAFETY: plain syscall on our own descriptor; a stale `wd` only yields EINVAL.
        unsafe { libc::inotify_rm_watch(self.fd.as_raw_fd(), wd) };
    }

    /// Reads every queued event (until EAGAIN) and hands each to `f`.
    pub fn drain(&self, mut f: impl FnMut(Event<'_>)) -> io::Result<()> {
        let mut buf = [0u8; 16 * 1024];
        loop {
            // SAFETY: `buf` is writable for `buf.len()` bytes for the duration of the call.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n < 0 {
                let e = io::Error::last_os_error();
                match e.kind() {
                    io::ErrorKind::WouldBlock => return Ok(()),
                    io::ErrorKind::Interrupted => continue,
                    _ => return Err(e),
                }
            }
            if n == 0 {
                return Ok(());
            }
            parse(&buf[..n as usize], &mut f);
        }
    }
}

/// Parses a buffer of `struct inotify_event` records (wd, mask, cookie, len, name[len]).
fn parse(mut buf: &[u8], f: &mut impl FnMut(Event<'_>)) {
    const HEADER: usize = 16;
    while buf.len() >= HEADER {
        let word = |i: usize| u32::from_ne_bytes([buf[i], buf[i + 1], buf[i + 2], buf[i + 3]]);
        let (wd, mask, len) = (word(0) as i32, word(4), word(12) as usize);
        let end = (HEADER + len).min(buf.len());
        let raw = &buf[HEADER..end];
        let name = &raw[..raw.iter().position(|&b| b == 0).unwrap_or(raw.len())];
        f(Event {
            wd,
            mask,
            name: OsStr::from_bytes(name),
        });
        buf = &buf[end..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_reads_records_with_padded_names() {
        let mut buf = Vec::new();
        for (wd, mask, name) in [(1i32, 2u32, &b"abc"[..]), (7, 0x100, b""), (3, 8, b"x.txt")] {
            let len = if name.is_empty() {
                0
            } else {
                (name.len() + 1).div_ceil(16) * 16
            };
            buf.extend_from_slice(&wd.to_ne_bytes());
            buf.extend_from_slice(&mask.to_ne_bytes());
            buf.extend_from_slice(&0u32.to_ne_bytes());
            buf.extend_from_slice(&(len as u32).to_ne_bytes());
            let mut padded = name.to_vec();
            padded.resize(len, 0);
            buf.extend_from_slice(&padded);
        }
        let mut got = Vec::new();
        parse(&buf, &mut |e: Event<'_>| {
            got.push((e.wd, e.mask, e.name.to_os_string()))
        });
        assert_eq!(
            got,
            vec![
                (1, 2, "abc".into()),
                (7, 0x100, "".into()),
                (3, 8, "x.txt".into())
            ]
        );
    }
}
