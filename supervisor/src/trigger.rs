//! The trigger file (`--trigger-file`, default `/tmp/.restart-proc`, the Tilt restart_process
//! convention): any write to it, a plain `touch` (even busybox's, which only changes the times),
//! its creation (by open, link, symlink or mknod) and a rename onto it each ask for a restart.
//!
//! The file need not exist: the parent directory is watched (inotify `IN_CLOSE_WRITE | IN_ATTRIB |
//! IN_CREATE | IN_MOVED_TO`) and events are filtered by name. Its content is never read. Several
//! events of one action (GNU `touch` gives `IN_ATTRIB` then `IN_CLOSE_WRITE`) that are read in one
//! [`TriggerFile::handle_readable`] call count once; the supervisor coalesces requests that
//! arrive while a restart is under way. An event-queue overflow counts as a trigger (one may
//! have been lost). `IN_MODIFY` is not watched (it would wake PID 1 on every `write()` anywhere
//! in `/tmp`), so setting only the mtime (`utimensat` with the atime omitted) is not a trigger;
//! every `touch` is, since it either opens the file for writing or sets both times.

use std::ffi::OsString;
use std::fmt;
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};

use crate::watch::inotify::Inotify;

const MASK: u32 = libc::IN_CLOSE_WRITE | libc::IN_ATTRIB | libc::IN_CREATE | libc::IN_MOVED_TO;

/// The trigger file could not be watched.
#[derive(Debug)]
pub struct TriggerError {
    /// The trigger file asked for.
    pub path: PathBuf,
    /// Why it cannot be watched.
    pub message: String,
}

impl fmt::Display for TriggerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "trigger file {}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for TriggerError {}

/// A watch on one trigger file path.
#[derive(Debug)]
pub struct TriggerFile {
    inotify: Inotify,
    dir: PathBuf,
    name: OsString,
    wd: i32,
    message: Option<String>,
}

impl TriggerFile {
    /// Watches `path`'s directory for `path` being written, touched, created or moved into place.
    pub fn new(path: &Path) -> Result<TriggerFile, TriggerError> {
        let err = |message: String| TriggerError {
            path: path.to_path_buf(),
            message,
        };
        let name = match path.file_name() {
            Some(n) => n.to_os_string(),
            None => return Err(err("not a file path".into())),
        };
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let inotify = Inotify::new().map_err(|e| err(format!("inotify unavailable: {e}")))?;
        let wd = inotify
            .add_watch(&dir, MASK | libc::IN_ONLYDIR)
            .map_err(|e| err(format!("cannot watch directory {}: {e}", dir.display())))?;
        Ok(TriggerFile {
            inotify,
            dir,
            name,
            wd,
            message: None,
        })
    }

    /// The inotify descriptor to poll for readability.
    pub fn fd(&self) -> RawFd {
        self.inotify.raw_fd()
    }

    /// Drains pending events; `true` when the trigger fired (at most once per call).
    pub fn handle_readable(&mut self) -> bool {
        let mut fire = false;
        let mut lost_dir = false;
        let (wd, name) = (self.wd, &self.name);
        let res = self.inotify.drain(|ev| {
            if ev.mask & libc::IN_Q_OVERFLOW != 0 {
                fire = true;
            } else if ev.wd == wd && ev.mask & libc::IN_IGNORED != 0 {
                lost_dir = true;
            } else if ev.wd == wd && ev.mask & MASK != 0 && ev.name == name.as_os_str() {
                fire = true;
            }
        });
        if let Err(e) = res {
            self.message = Some(format!("trigger file: reading inotify events failed: {e}"));
        }
        if lost_dir {
            // The directory was removed or unmounted; it may come back (a new tmpfs, say).
            match self.inotify.add_watch(&self.dir, MASK | libc::IN_ONLYDIR) {
                Ok(wd) => self.wd = wd,
                Err(e) => {
                    self.message = Some(format!(
                        "trigger file: directory {} is gone ({e}); the trigger file no longer works",
                        self.dir.display()
                    ));
                }
            }
        }
        fire
    }

    /// A problem to report once (e.g. the watched directory vanished), for the caller to print.
    pub fn take_message(&mut self) -> Option<String> {
        self.message.take()
    }
}

#[cfg(test)]
mod tests;
