//! The trigger file (`--trigger-file`, default `/tmp/.restart-proc`, the Tilt restart_process
//! convention): any write to it, a plain `touch` (even busybox's, which only changes the times),
//! its creation (by open, link, symlink or mknod) and a rename onto it each ask for a restart.
//!
//! The file need not exist: the parent directory is watched (inotify `IN_CLOSE_WRITE | IN_ATTRIB |
//! IN_CREATE | IN_MOVED_TO`) and events are filtered by name. Its content is never read. An
//! event-queue overflow counts as a trigger (one may have been lost). `IN_MODIFY` is not watched
//! (it would wake PID 1 on every `write()` anywhere in `/tmp`), so setting only the mtime
//! (`utimensat` with the atime omitted) is not a trigger; every `touch` is, since it either opens
//! the file for writing or sets both times.
//!
//! One action is one restart. A `touch` gives two events, and a copy (`podman cp`, `kubectl cp`,
//! any tar extract) up to six spread over milliseconds: (unlink,) create, close, then chown, chmod
//! and utimes — busybox tar even reads /etc/passwd and /etc/group between the close and the
//! chown. The first event fires at once (the old generation starts stopping), and the file is
//! *settling* ([`TriggerFile::pending`]) until
//! - an in-place write is closed: the file existed and the action's last event is
//!   `IN_CLOSE_WRITE` (`date > FILE`, GNU `touch`, `cp` onto it) — nothing else follows;
//! - otherwise (the action created the file or renamed it into place — every extractor and
//!   copier does —, or only changed its metadata), the file has had no event for the quiet period
//!   (the `--debounce`, 15 ms) and a file it created is closed again; a file created and never
//!   closed (a hard link, say) stops holding back after [`WRITER_MAX`].
//!
//! The supervisor starts the next generation only once the file has settled, so every event of
//! the action arrives while the restart is under way and coalesces into it; the first event
//! after the new start is a new request.

use std::ffi::OsString;
use std::fmt;
use std::os::fd::RawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::watch::inotify::Inotify;

const MASK: u32 = libc::IN_CLOSE_WRITE | libc::IN_ATTRIB | libc::IN_CREATE | libc::IN_MOVED_TO;

/// How long a trigger file created but not yet closed can hold the next start back after the
/// last event (a copy stalled mid-stream; a creation that is never closed, like `ln`).
pub const WRITER_MAX: Duration = crate::watch::WRITER_QUIET_MAX;

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
    quiet: Duration,
    /// The last event of the action in progress (`None`: settled).
    last: Option<Instant>,
    action: Action,
}

/// What the events of the action in progress tell.
#[derive(Clone, Copy, Debug, Default)]
struct Action {
    /// It created the file or moved it into place: owner, mode and times may still follow.
    created: bool,
    /// A regular file it created is still open for writing.
    writing: bool,
    /// Its last event closed a file it did not create: an in-place write, complete.
    done: bool,
}

impl Action {
    /// Folds one event on the trigger file (`created_for_writing` asked only on `IN_CREATE`).
    fn on_event(&mut self, mask: u32, created_for_writing: impl FnOnce() -> bool) {
        self.done = false;
        if mask & libc::IN_CREATE != 0 {
            self.created = true;
            self.writing = created_for_writing();
        } else if mask & libc::IN_MOVED_TO != 0 {
            self.created = true;
            self.writing = false;
        } else if mask & libc::IN_CLOSE_WRITE != 0 {
            self.writing = false;
            self.done = !self.created;
        }
    }
}

impl TriggerFile {
    /// Watches `path`'s directory for `path` being written, touched, created or moved into place;
    /// an action on it settles after `quiet` without events.
    pub fn new(path: &Path, quiet: Duration) -> Result<TriggerFile, TriggerError> {
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
            quiet,
            last: None,
            action: Action::default(),
        })
    }

    /// The inotify descriptor to poll for readability.
    pub fn fd(&self) -> RawFd {
        self.inotify.raw_fd()
    }

    /// Drains pending events (received at `now`); `true` when the trigger fired (at most once per
    /// call). Every event also extends the settling of the action in progress.
    pub fn handle_readable(&mut self, now: Instant) -> bool {
        let mut fire = false;
        let mut lost_dir = false;
        let mut action = if self.last.is_some() {
            self.action
        } else {
            Action::default()
        };
        let (wd, name, dir) = (self.wd, &self.name, &self.dir);
        let res = self.inotify.drain(|ev| {
            if ev.mask & libc::IN_Q_OVERFLOW != 0 {
                fire = true;
                action.done = false;
            } else if ev.wd == wd && ev.mask & libc::IN_IGNORED != 0 {
                lost_dir = true;
            } else if ev.wd == wd && ev.mask & MASK != 0 && ev.name == name.as_os_str() {
                fire = true;
                action.on_event(ev.mask, || created_for_writing(&dir.join(name)));
            }
        });
        if fire {
            self.last = Some(now);
            self.action = action;
        }
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

    /// When the action in progress settles (`None`: settled). Forgets an action settled by `now`;
    /// costs no system call.
    pub fn pending(&mut self, now: Instant) -> Option<Instant> {
        let last = self.last?;
        let at = match self.action {
            Action { done: true, .. } => last,
            Action { writing: true, .. } => last + self.quiet.max(WRITER_MAX),
            _ => last + self.quiet,
        };
        if at <= now {
            self.last = None;
            return None;
        }
        Some(at)
    }

    /// A problem to report once (e.g. the watched directory vanished), for the caller to print.
    pub fn take_message(&mut self) -> Option<String> {
        self.message.take()
    }
}

/// A regular file just created with one link is (almost always) open for writing: `open(O_CREAT)`
/// by a shell redirection, `touch` or an extract, closed later (`IN_CLOSE_WRITE`). Hard links,
/// symlinks and special files are complete when they appear.
fn created_for_writing(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file() && m.nlink() == 1)
}

#[cfg(test)]
mod tests;
