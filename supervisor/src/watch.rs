//! `--watch PATH` (recursive), `--ignore GLOB`, `--debounce DURATION`: file changes that ask for
//! a restart, with inotify and a polling fallback.
//!
//! Timing (see `docs/live-restart.md` for the reasons):
//! - A burst of changes fires once, [`DEFAULT_DEBOUNCE`] (15 ms) after its last event — well under
//!   watchexec's 50 ms, while the events of one editor save or one `tar`/`kubectl cp` extract
//!   arrive microseconds apart.
//! - A burst that created (or removed) more than [`BULK_ENTRIES`] entry is a copy, not an edit:
//!   its quiet period is at least [`BULK_QUIET`] (100 ms), so a stalled stream still restarts once.
//!   An editor save creates at most one entry (the saved file; swap/backup names are ignored);
//!   a new directory counts as a copy at once (its content follows).
//! - Settle-aware: a file that was created or modified and not yet closed (`IN_CREATE`/
//!   `IN_MODIFY` without `IN_CLOSE_WRITE`) holds the restart back until it is closed, or until it
//!   has had no write for [`WRITER_QUIET_MAX`] (2 s: a writer that never closes, like a log,
//!   cannot block forever).
//! - Idle costs nothing: [`Watcher::next_deadline`] is `None` unless a burst is pending.
//!
//! Watched: every directory below each path (new ones as they appear; ignored ones never), or for
//! a file path its directory, filtered to the file's name and `..data` (Kubernetes' atomic
//! ConfigMap/Secret writer swaps that symlink). Ignore globs: [`DEFAULT_IGNORES`] plus the
//! user's (syntax in `glob.rs`), matched relative to the watched path.
//!
//! Polling: when inotify cannot be used (no instance, `EMFILE`, `ENOSPC` on a watch — also in the
//! middle of a run) or `RESPAWN_WATCH_POLL` is set (`1` or an interval like `250ms`), the trees
//! are polled every [`DEFAULT_POLL_INTERVAL`]; [`Watcher::take_message`] says why, for the caller to
//! print. After a fallback [`Watcher::fd`] is `None`: callers re-read it every loop.

pub(crate) mod inotify;

mod glob;
mod poll;
mod tree;

use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt;
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use glob::Glob;
use poll::Poller;
use tree::Tree;

/// Quiet period after the last event of a burst.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(15);
/// Entries created (or removed) in one burst above which it counts as a bulk copy.
pub const BULK_ENTRIES: usize = 1;
/// Minimum quiet period of a bulk copy.
pub const BULK_QUIET: Duration = Duration::from_millis(100);
/// How long a file modified but not closed may hold a restart back after its last write.
pub const WRITER_QUIET_MAX: Duration = Duration::from_secs(2);
/// Interval between two scans in polling mode.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(500);
/// Environment variable forcing polling: `1`/`true` or an interval (`250ms`, `2s`).
pub const POLL_ENV: &str = "RESPAWN_WATCH_POLL";
/// Always ignored: VCS metadata, editor swap/backup/lock files, Python bytecode.
pub const DEFAULT_IGNORES: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    "*.swp",
    "*.swo",
    "*.swx",
    "*~",
    ".#*",
    "#*#",
    "4913",
    "*___jb_tmp___",
    "*___jb_old___",
    "__pycache__",
    "*.pyc",
    ".DS_Store",
];

/// A watch that cannot be set up (bad path, bad glob, bad `RESPAWN_WATCH_POLL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchError {
    /// The path concerned, if any.
    pub path: Option<PathBuf>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for WatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(p) => write!(f, "watch {}: {}", p.display(), self.message),
            None => write!(f, "watch: {}", self.message),
        }
    }
}

impl std::error::Error for WatchError {}

/// Settings beyond [`Watcher::new`]'s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchOptions {
    /// Quiet period after a burst.
    pub debounce: Duration,
    /// `Some(interval)`: poll instead of using inotify.
    pub poll: Option<Duration>,
}

/// One watched path: a directory (recursive) or a single file in `dir`.
#[derive(Debug, Clone)]
pub(crate) struct Root {
    pub dir: PathBuf,
    pub file: Option<OsString>,
}

/// The ignore globs.
#[derive(Debug)]
pub(crate) struct Rules {
    globs: Vec<Glob>,
}

impl Rules {
    /// Whether `path` (below `root`) is ignored.
    pub fn ignored(&self, root: &Path, path: &Path, is_dir: bool) -> bool {
        let rel: Vec<&[u8]> = path
            .strip_prefix(root)
            .unwrap_or(path)
            .iter()
            .map(|c| c.as_bytes())
            .collect();
        let abs: Vec<&[u8]> = path.iter().skip(1).map(|c| c.as_bytes()).collect();
        self.globs.iter().any(|g| g.matches(&rel, &abs, is_dir))
    }
}

enum Backend {
    Inotify(Tree),
    Poll(Poller),
}

/// Watches paths and says when to restart; driven by the supervisor's event loop.
pub struct Watcher {
    roots: Vec<Root>,
    rules: Rules,
    debounce: Duration,
    backend: Backend,
    /// A burst is pending.
    dirty: bool,
    last_event: Option<Instant>,
    /// Entries created (moved in) and removed (moved away) in the pending burst.
    created: usize,
    removed: usize,
    /// Files modified and not yet closed, with the time of their last write.
    writers: HashMap<PathBuf, Instant>,
    message: Option<String>,
}

impl Watcher {
    /// Watches `paths` with the default ignores plus `ignores`; honours `RESPAWN_WATCH_POLL`.
    pub fn new(paths: &[PathBuf], ignores: &[String], debounce: Duration) -> Result<Watcher, WatchError> {
        let poll = match std::env::var(POLL_ENV) {
            Ok(v) => parse_poll(&v).map_err(|message| WatchError { path: None, message })?,
            Err(_) => None,
        };
        Watcher::with_options(paths, ignores, &WatchOptions { debounce, poll })
    }

    /// Like [`Watcher::new`] with explicit options (no environment).
    pub fn with_options(
        paths: &[PathBuf],
        ignores: &[String],
        opts: &WatchOptions,
    ) -> Result<Watcher, WatchError> {
        if paths.is_empty() {
            return Err(WatchError {
                path: None,
                message: "no path to watch".into(),
            });
        }
        let roots = paths.iter().map(|p| root_of(p)).collect::<Result<Vec<_>, _>>()?;
        let globs = DEFAULT_IGNORES
            .iter()
            .copied()
            .chain(ignores.iter().map(String::as_str))
            .map(|p| Glob::new(p).map_err(|message| WatchError { path: None, message }))
            .collect::<Result<Vec<_>, _>>()?;
        let rules = Rules { globs };
        let now = Instant::now();
        let (backend, message) = match opts.poll {
            Some(interval) => (
                Backend::Poll(Poller::new(&roots, &rules, interval, opts.debounce, now)),
                Some(format!(
                    "watching by polling every {interval:?} ({POLL_ENV} is set)"
                )),
            ),
            None => match Tree::new(&roots, &rules) {
                Ok((tree, warn)) => (Backend::Inotify(tree), warn),
                Err(tree::Failure::Fatal(e)) => return Err(e),
                Err(tree::Failure::Fallback(why)) => (
                    Backend::Poll(Poller::new(
                        &roots,
                        &rules,
                        DEFAULT_POLL_INTERVAL,
                        opts.debounce,
                        now,
                    )),
                    Some(fallback_text(&why)),
                ),
            },
        };
        Ok(Watcher {
            roots,
            rules,
            debounce: opts.debounce,
            backend,
            dirty: false,
            last_event: None,
            created: 0,
            removed: 0,
            writers: HashMap::new(),
            message,
        })
    }

    /// The inotify descriptor to poll for readability; `None` in polling mode.
    pub fn fd(&self) -> Option<RawFd> {
        match &self.backend {
            Backend::Inotify(t) => Some(t.raw_fd()),
            Backend::Poll(_) => None,
        }
    }

    /// Whether the watcher polls (inotify unavailable, out of watches, or forced).
    pub fn is_polling(&self) -> bool {
        matches!(self.backend, Backend::Poll(_))
    }

    /// A notice for the caller to print once (polling fallback, unwatchable directories).
    pub fn take_message(&mut self) -> Option<String> {
        self.message.take()
    }

    /// Drains inotify events: records changes, follows new/moved/removed directories.
    pub fn handle_readable(&mut self, now: Instant) {
        let Backend::Inotify(tree) = &mut self.backend else {
            return;
        };
        let out = tree.handle(&self.roots, &self.rules);
        if let Some(m) = out.message {
            self.message = Some(m);
        }
        for ch in &out.changes {
            self.dirty = true;
            self.last_event = Some(now);
            // A new directory is almost never the whole change: its content follows.
            self.created += if ch.created && ch.is_dir {
                BULK_ENTRIES + 1
            } else {
                usize::from(ch.created)
            };
            self.removed += usize::from(ch.removed);
            if ch.writing {
                self.writers.insert(ch.path.clone(), now);
            }
            if ch.closed {
                self.writers.remove(&ch.path);
                if ch.is_dir {
                    self.writers.retain(|p, _| !p.starts_with(&ch.path));
                }
            }
        }
        if let Some(why) = out.fallback {
            self.fall_back(&why, now);
        }
    }

    /// When [`Watcher::on_timer`] wants to be called next; `None` while idle in inotify mode.
    pub fn next_deadline(&self) -> Option<Instant> {
        match &self.backend {
            Backend::Poll(p) => Some(p.next),
            Backend::Inotify(_) if !self.dirty => None,
            Backend::Inotify(_) => {
                let quiet = if self.created.max(self.removed) > BULK_ENTRIES {
                    self.debounce.max(BULK_QUIET)
                } else {
                    self.debounce
                };
                let base = self.last_event? + quiet;
                let writer = self.writers.values().max().map(|t| *t + WRITER_QUIET_MAX);
                Some(writer.map_or(base, |w| w.max(base)))
            }
        }
    }

    /// Timer tick: `true` means restart now (a burst settled, or polling saw a settled change).
    pub fn on_timer(&mut self, now: Instant) -> bool {
        if let Backend::Poll(p) = &mut self.backend {
            return p.on_timer(&self.roots, &self.rules, now);
        }
        match self.next_deadline() {
            Some(d) if d <= now => {
                self.dirty = false;
                self.created = 0;
                self.removed = 0;
                self.writers.clear();
                true
            }
            _ => false,
        }
    }

    fn fall_back(&mut self, why: &str, now: Instant) {
        let mut p = Poller::new(
            &self.roots,
            &self.rules,
            DEFAULT_POLL_INTERVAL,
            self.debounce,
            now,
        );
        p.mark_dirty(now);
        self.backend = Backend::Poll(p);
        self.dirty = false;
        self.writers.clear();
        self.message = Some(fallback_text(why));
    }
}

fn fallback_text(why: &str) -> String {
    format!(
        "inotify unavailable ({why}); falling back to polling every {DEFAULT_POLL_INTERVAL:?} \
         (raise fs.inotify.max_user_watches / max_user_instances, or --ignore large directories)"
    )
}

/// A watched path made absolute (symlinks kept: a ConfigMap key must stay `dir/key`, not the
/// `..2026_…/key` it currently points to), split into directory and optional file name.
fn root_of(given: &Path) -> Result<Root, WatchError> {
    let err = |e: std::io::Error| WatchError {
        path: Some(given.to_path_buf()),
        message: e.to_string(),
    };
    let p = &std::path::absolute(given).map_err(err)?;
    let meta = std::fs::metadata(p).map_err(err)?;
    if meta.is_dir() {
        return Ok(Root {
            dir: p.to_path_buf(),
            file: None,
        });
    }
    let name = p.file_name().ok_or_else(|| WatchError {
        path: Some(p.to_path_buf()),
        message: "not a file".into(),
    })?;
    let dir = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok(Root {
        dir,
        file: Some(name.to_os_string()),
    })
}

/// `RESPAWN_WATCH_POLL`: empty/`0`/`false` = off, `1`/`true` = default interval, else a duration.
fn parse_poll(v: &str) -> Result<Option<Duration>, String> {
    let v = v.trim();
    match v {
        "" | "0" | "false" | "no" => return Ok(None),
        "1" | "true" | "yes" => return Ok(Some(DEFAULT_POLL_INTERVAL)),
        _ => {}
    }
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let n: u64 = v[..split]
        .parse()
        .map_err(|_| format!("{POLL_ENV}={v:?}: expected 1, true or a duration like 250ms"))?;
    let d = match &v[split..] {
        "ms" => Duration::from_millis(n),
        "s" | "" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        _ => return Err(format!("{POLL_ENV}={v:?}: unknown unit (use ms, s or m)")),
    };
    if d < Duration::from_millis(10) {
        return Err(format!("{POLL_ENV}={v:?}: interval must be at least 10ms"));
    }
    Ok(Some(d))
}

#[cfg(test)]
mod tests;
