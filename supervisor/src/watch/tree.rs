//! The inotify side of the watcher: one watch per directory of each watched tree, kept in step
//! with the tree (new, moved and removed directories), events turned into [`Change`]s.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::RawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::inotify::Inotify;
use super::{Root, Rules, WatchError};

const CHANGES: u32 = libc::IN_CREATE
    | libc::IN_DELETE
    | libc::IN_MODIFY
    | libc::IN_CLOSE_WRITE
    | libc::IN_MOVED_FROM
    | libc::IN_MOVED_TO
    | libc::IN_ATTRIB;
const SELF: u32 = libc::IN_DELETE_SELF | libc::IN_MOVE_SELF;
const MASK: u32 = CHANGES | SELF | libc::IN_ONLYDIR | libc::IN_EXCL_UNLINK;
/// Below a root, symlinks to directories are not followed.
const SUB_MASK: u32 = MASK | libc::IN_DONT_FOLLOW;
/// A file root's directory: the file itself and the atomic writer's symlink.
const DATA_LINK: &str = "..data";

/// Why the tree could not be built.
pub(super) enum Failure {
    /// A watched path itself is unusable: report to the user.
    Fatal(WatchError),
    /// inotify is unusable here: poll instead.
    Fallback(String),
}

/// One event that counts as a change.
#[derive(Debug)]
pub(super) struct Change {
    pub path: PathBuf,
    pub is_dir: bool,
    /// Created or moved in.
    pub created: bool,
    /// Deleted or moved away.
    pub removed: bool,
    /// Written to (`IN_MODIFY`) or created as a regular file: it may still be open for writing.
    pub writing: bool,
    /// No longer being written (closed, deleted or moved away).
    pub closed: bool,
}

/// What one drain produced.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    pub changes: Vec<Change>,
    pub message: Option<String>,
    pub fallback: Option<String>,
}

#[derive(Debug)]
struct Dir {
    path: PathBuf,
    root: usize,
    /// `None`: every name (recursive tree); `Some`: a file root's directory, only these names.
    names: Option<Vec<OsString>>,
}

/// All watches of all roots.
#[derive(Debug)]
pub(super) struct Tree {
    ino: Inotify,
    dirs: HashMap<i32, Dir>,
}

impl Tree {
    /// Watches every root; `Ok` carries an optional warning (directories that could not be watched).
    pub fn new(roots: &[Root], rules: &Rules) -> Result<(Tree, Option<String>), Failure> {
        let ino = Inotify::new().map_err(|e| Failure::Fallback(format!("inotify_init1: {e}")))?;
        let mut tree = Tree {
            ino,
            dirs: HashMap::new(),
        };
        let mut warn = None;
        for i in 0..roots.len() {
            match tree.add_root(i, roots, rules) {
                Ok(w) => warn = warn.or(w),
                Err(e) if is_exhausted(&e) => {
                    return Err(Failure::Fallback(format!("inotify_add_watch: {e}")));
                }
                Err(e) => {
                    let path = Some(roots[i].dir.clone());
                    return Err(Failure::Fatal(WatchError {
                        path,
                        message: e.to_string(),
                    }));
                }
            }
        }
        Ok((tree, warn))
    }

    pub fn raw_fd(&self) -> RawFd {
        self.ino.raw_fd()
    }

    /// Watches root `i`: its directory tree, or the directory of a file root.
    fn add_root(&mut self, i: usize, roots: &[Root], rules: &Rules) -> io::Result<Option<String>> {
        let root = &roots[i];
        match &root.file {
            Some(name) => {
                let wd = self.ino.add_watch(&root.dir, MASK)?;
                let names = vec![name.clone(), OsString::from(DATA_LINK)];
                self.insert(
                    wd,
                    Dir {
                        path: root.dir.clone(),
                        root: i,
                        names: Some(names),
                    },
                );
                Ok(None)
            }
            None => self.add_tree(&root.dir, i, roots, rules, MASK),
        }
    }

    /// Watches `top` and every non-ignored directory below it (symlinks not followed).
    fn add_tree(
        &mut self,
        top: &Path,
        i: usize,
        roots: &[Root],
        rules: &Rules,
        mask: u32,
    ) -> io::Result<Option<String>> {
        let wd = self.ino.add_watch(top, mask)?;
        self.insert(
            wd,
            Dir {
                path: top.to_path_buf(),
                root: i,
                names: None,
            },
        );
        let mut warn = None;
        let mut stack = vec![top.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&dir) else { continue };
            for e in rd.filter_map(Result::ok) {
                if !e.file_type().is_ok_and(|t| t.is_dir()) {
                    continue;
                }
                let path = e.path();
                if rules.ignored(&roots[i].dir, &path, true) {
                    continue;
                }
                match self.ino.add_watch(&path, SUB_MASK) {
                    Ok(wd) => {
                        self.insert(
                            wd,
                            Dir {
                                path: path.clone(),
                                root: i,
                                names: None,
                            },
                        );
                        stack.push(path);
                    }
                    Err(e) if is_exhausted(&e) => return Err(e),
                    // Removed meanwhile (ENOENT) or not a directory any more: nothing to watch.
                    Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) => {}
                    Err(e) => warn = Some(format!("cannot watch {}: {e} (skipped)", path.display())),
                }
            }
        }
        Ok(warn)
    }

    /// Records a watch; a directory already watched (two roots) keeps the widest name filter.
    fn insert(&mut self, wd: i32, dir: Dir) {
        match self.dirs.get_mut(&wd) {
            Some(old) => match (&mut old.names, dir.names) {
                (Some(a), Some(b)) => a.extend(b),
                (Some(_), None) => {
                    old.names = None;
                    old.root = dir.root;
                    old.path = dir.path;
                }
                (None, _) => {}
            },
            None => {
                self.dirs.insert(wd, dir);
            }
        }
    }

    /// Stops watching `path` and everything below it (a directory moved away).
    fn remove_tree(&mut self, path: &Path) {
        let gone: Vec<i32> = self
            .dirs
            .iter()
            .filter(|(_, d)| d.path.starts_with(path))
            .map(|(wd, _)| *wd)
            .collect();
        for wd in gone {
            self.ino.rm_watch(wd);
            self.dirs.remove(&wd);
        }
    }

    /// Drains the queue and interprets every event.
    pub fn handle(&mut self, roots: &[Root], rules: &Rules) -> Outcome {
        let mut out = Outcome::default();
        let mut evs: Vec<(i32, u32, OsString)> = Vec::new();
        if let Err(e) = self
            .ino
            .drain(|e| evs.push((e.wd, e.mask, e.name.to_os_string())))
        {
            out.message = Some(format!("watch: reading inotify events failed: {e}"));
        }
        for (wd, mask, name) in evs {
            if let Err(e) = self.event(wd, mask, &name, roots, rules, &mut out) {
                out.fallback = Some(format!("inotify_add_watch: {e}"));
                return out;
            }
        }
        out
    }

    fn event(
        &mut self,
        wd: i32,
        mask: u32,
        name: &OsStr,
        roots: &[Root],
        rules: &Rules,
        out: &mut Outcome,
    ) -> io::Result<()> {
        if mask & libc::IN_Q_OVERFLOW != 0 {
            // Events were lost: count it as a change and re-add every watch (existing ones are kept).
            out.changes.push(Change {
                path: PathBuf::new(),
                is_dir: true,
                created: true,
                removed: true,
                writing: false,
                closed: false,
            });
            for i in 0..roots.len() {
                self.readd_root(i, roots, rules, out)?;
            }
            return Ok(());
        }
        let Some(dir) = self.dirs.get(&wd) else {
            return Ok(());
        };
        let (i, is_root) = (dir.root, dir.path == roots[dir.root].dir);
        if mask & libc::IN_IGNORED != 0 || (mask & SELF != 0 && is_root) {
            // The watched directory is gone (deleted, moved, unmounted). Below a root the parent's
            // event already counted; a root is re-watched if it is back (e.g. a re-created dir).
            self.dirs.remove(&wd);
            if mask & libc::IN_IGNORED == 0 {
                self.ino.rm_watch(wd);
            }
            if is_root {
                let path = roots[i].dir.clone();
                out.changes.push(Change {
                    path,
                    is_dir: true,
                    created: false,
                    removed: true,
                    writing: false,
                    closed: true,
                });
                self.readd_root(i, roots, rules, out)?;
            }
            return Ok(());
        }
        if name.is_empty() || mask & CHANGES == 0 {
            return Ok(());
        }
        if dir.names.as_ref().is_some_and(|n| !n.iter().any(|x| x == name)) {
            return Ok(());
        }
        let recursive = dir.names.is_none();
        let path = dir.path.join(name);
        let is_dir = mask & libc::IN_ISDIR != 0;
        if rules.ignored(&roots[i].dir, &path, is_dir) {
            return Ok(());
        }
        let moved_in = mask & (libc::IN_CREATE | libc::IN_MOVED_TO) != 0;
        let moved_out = mask & (libc::IN_DELETE | libc::IN_MOVED_FROM) != 0;
        if is_dir && recursive && mask & libc::IN_MOVED_FROM != 0 {
            self.remove_tree(&path);
        }
        if is_dir
            && recursive
            && moved_in
            && let Some(w) = self
                .add_tree(&path, i, roots, rules, SUB_MASK)
                .or_else(vanished)?
        {
            out.message = Some(w);
        }
        // Directories report IN_MODIFY too when their entries change: never a writer. A regular file
        // just created by open() is written next; one made by link() is not (it waits at most
        // WRITER_QUIET_MAX), symlinks and other types are never writers.
        let writing = !is_dir
            && (mask & libc::IN_MODIFY != 0
                || (mask & libc::IN_CREATE != 0
                    && std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file() && m.nlink() == 1)));
        out.changes.push(Change {
            path,
            is_dir,
            created: moved_in,
            removed: moved_out,
            writing,
            closed: mask & libc::IN_CLOSE_WRITE != 0 || moved_out,
        });
        Ok(())
    }

    /// Re-watches root `i` if it exists again; otherwise reports it.
    fn readd_root(&mut self, i: usize, roots: &[Root], rules: &Rules, out: &mut Outcome) -> io::Result<()> {
        match self.add_root(i, roots, rules) {
            Ok(w) => {
                if w.is_some() {
                    out.message = w;
                }
                Ok(())
            }
            Err(e) if is_exhausted(&e) => Err(e),
            Err(e) => {
                let path = roots[i].dir.display();
                out.message = Some(format!(
                    "watched directory {path} is gone ({e}); changes there are not seen"
                ));
                Ok(())
            }
        }
    }
}

/// ENOSPC (max_user_watches) or EMFILE/ENFILE: the fallback reasons.
fn is_exhausted(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOSPC | libc::EMFILE | libc::ENFILE | libc::ENOMEM)
    )
}

/// A new directory that vanished before it could be watched is not an error.
fn vanished(e: io::Error) -> io::Result<Option<String>> {
    if is_exhausted(&e) { Err(e) } else { Ok(None) }
}
