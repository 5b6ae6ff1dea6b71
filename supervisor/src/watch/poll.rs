//! Polling fallback: when inotify is unavailable or out of watches, the watched trees are stat'ed
//! every poll interval and folded into one 64-bit digest (constant memory, whatever the tree size).
//! A changed digest marks the tree dirty; the restart fires on the first later poll that finds it
//! unchanged, one settle period on — so a file still being copied restarts once, after it is done.

use std::hash::{DefaultHasher, Hasher};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

use super::{Root, Rules};

/// Polling state.
#[derive(Debug)]
pub(super) struct Poller {
    pub interval: Duration,
    pub settle: Duration,
    pub next: Instant,
    digest: u64,
    dirty: bool,
}

impl Poller {
    /// Takes the first snapshot; the first poll is one interval from `now`.
    pub fn new(
        roots: &[Root],
        rules: &Rules,
        interval: Duration,
        debounce: Duration,
        now: Instant,
    ) -> Poller {
        let settle = debounce.max(Duration::from_millis(100)).min(interval);
        Poller {
            interval,
            settle,
            next: now + interval,
            digest: digest(roots, rules),
            dirty: false,
        }
    }

    /// Marks the tree dirty (used when inotify gave up in the middle of a change).
    pub fn mark_dirty(&mut self, now: Instant) {
        self.dirty = true;
        self.next = now + self.settle;
    }

    /// Polls if due; true when the tree changed and has since stayed unchanged for a settle period.
    pub fn on_timer(&mut self, roots: &[Root], rules: &Rules, now: Instant) -> bool {
        if now < self.next {
            return false;
        }
        let d = digest(roots, rules);
        let changed = d != self.digest;
        self.digest = d;
        if changed {
            self.dirty = true;
            self.next = now + self.settle;
            return false;
        }
        self.next = now + self.interval;
        std::mem::take(&mut self.dirty)
    }
}

/// Hashes name, type, inode, size, mtime and ctime of every non-ignored entry under the roots.
pub(super) fn digest(roots: &[Root], rules: &Rules) -> u64 {
    let mut h = DefaultHasher::new();
    for (i, root) in roots.iter().enumerate() {
        match &root.file {
            Some(name) => {
                // A single file: follow symlinks, so a ConfigMap `..data` swap changes the inode.
                let p = root.dir.join(name);
                h.write(p.as_os_str().as_bytes());
                hash_meta(&mut h, std::fs::metadata(&p).ok());
            }
            None => walk(&mut h, &root.dir, i, roots, rules),
        }
    }
    h.finish()
}

fn walk(h: &mut DefaultHasher, dir: &Path, root: usize, roots: &[Root], rules: &Rules) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        h.write_u8(0xff);
        return;
    };
    let mut entries: Vec<_> = rd.filter_map(Result::ok).map(|e| e.file_name()).collect();
    entries.sort_unstable();
    for name in entries {
        let path = dir.join(&name);
        let meta = std::fs::symlink_metadata(&path).ok();
        let is_dir = meta.as_ref().is_some_and(|m| m.is_dir());
        if rules.ignored(&roots[root].dir, &path, is_dir) {
            continue;
        }
        h.write(name.as_bytes());
        hash_meta(h, meta);
        if is_dir {
            walk(h, &path, root, roots, rules);
        }
    }
    h.write_u8(0);
}

fn hash_meta(h: &mut DefaultHasher, meta: Option<std::fs::Metadata>) {
    match meta {
        None => h.write_u8(1),
        Some(m) => {
            for v in [m.dev(), m.ino(), m.mode() as u64, m.size(), m.nlink()] {
                h.write_u64(v);
            }
            for v in [m.mtime(), m.mtime_nsec(), m.ctime(), m.ctime_nsec()] {
                h.write_i64(v);
            }
        }
    }
}
