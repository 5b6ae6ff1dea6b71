//! Reaping and tree teardown: collect every exited child (orphans included, since we are PID 1
//! or a child subreaper) and find the descendants that left the process group.

use crate::sys::{self, Pid};
use std::collections::HashMap;

/// Makes sure orphans come to us: PID 1 gets them from the kernel, anyone else asks to be a
/// child subreaper. Returns true when we are PID 1.
pub fn adopt_orphans() -> bool {
    if sys::getpid() == 1 {
        return true;
    }
    if let Err(e) = sys::set_child_subreaper() {
        crate::warn(&format!(
            "cannot become a child subreaper ({e}); orphans will not be reaped"
        ));
    }
    false
}

/// Reaps every exited child, calling `on_exit(pid, status)` for each. Returns true while
/// children remain (i.e. some of our process tree is still alive).
pub fn reap(mut on_exit: impl FnMut(Pid, libc::c_int)) -> bool {
    loop {
        match sys::wait_nohang(-1) {
            Ok(Some((pid, status))) => on_exit(pid, status),
            Ok(None) => return true,
            Err(e) if e.raw_os_error() == Some(libc::ECHILD) => return false,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                crate::warn(&format!("waitpid: {e}"));
                return true;
            }
        }
    }
}

/// Every live descendant of `root` as `(pid, process group)`, according to `/proc` (empty when
/// `/proc` is unreadable). Processes entered from outside (e.g. `kubectl exec`) have another
/// parent and are not listed.
///
/// Walks only our subtree through `/proc/PID/task/TID/children`; kernels without that file
/// get a scan of all of `/proc`.
pub fn descendants(root: Pid) -> Vec<(Pid, Pid)> {
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(p) = stack.pop() {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{p}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let kids = match std::fs::read_to_string(task.path().join("children")) {
                Ok(k) => k,
                Err(e) if p == root && e.kind() == std::io::ErrorKind::NotFound => return scan_all(root),
                Err(_) => continue,
            };
            for kid in kids
                .split_ascii_whitespace()
                .filter_map(|k| k.parse::<Pid>().ok())
            {
                if let Some((_, pgrp)) = parent_of(kid) {
                    out.push((kid, pgrp));
                    stack.push(kid);
                }
            }
        }
    }
    out
}

/// [`descendants`] from a scan of every process in `/proc`.
fn scan_all(root: Pid) -> Vec<(Pid, Pid)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut children: HashMap<Pid, Vec<(Pid, Pid)>> = HashMap::new();
    for entry in dir.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<Pid>().ok()) else {
            continue;
        };
        if let Some((ppid, pgrp)) = parent_of(pid) {
            children.entry(ppid).or_default().push((pid, pgrp));
        }
    }
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(p) = stack.pop() {
        if let Some(kids) = children.get(&p) {
            out.extend_from_slice(kids);
            stack.extend(kids.iter().map(|&(pid, _)| pid));
        }
    }
    out
}

/// Parent pid and process group from `/proc/PID/stat` (fields 4 and 5, after the
/// parenthesised command name).
fn parent_of(pid: Pid) -> Option<(Pid, Pid)> {
    let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    let close = stat.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(&stat[close + 1..]).ok()?;
    let mut fields = rest.split_ascii_whitespace().skip(1);
    Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
}

/// Sends `sig` to group `pgid` and to every descendant of ours outside that group, so each
/// process gets it exactly once.
pub fn signal_tree(pgid: Option<Pid>, sig: libc::c_int) {
    if let Some(g) = pgid {
        let _ = sys::kill(-g, sig);
    }
    for (pid, pgrp) in descendants(sys::getpid()) {
        if Some(pgrp) != pgid {
            let _ = sys::kill(pid, sig);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtree_walk_matches_full_scan() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 5 & sh -c 'sleep 5 & wait' & wait"])
            .spawn()
            .expect("sh");
        std::thread::sleep(std::time::Duration::from_millis(200));
        let root = child.id() as Pid;
        let mut walked = descendants(root);
        let mut scanned = scan_all(root);
        walked.sort();
        scanned.sort();
        for &(pid, _) in &walked {
            let _ = sys::kill(pid, libc::SIGKILL);
        }
        let _ = child.kill();
        let _ = child.wait();
        assert!(walked.len() >= 3, "{walked:?}");
        assert_eq!(walked, scanned);
    }
}
