//! Not PID 1 (e.g. `shareProcessNamespace: true`): the supervisor becomes a child subreaper,
//! so an orphaned grandchild is re-parented to it (and reaped).

mod common;
use common::*;

#[test]
fn orphan_is_reparented_to_the_supervisor() {
    if native_only("orphan_is_reparented_to_the_supervisor", QEMU_NO_SUBREAPER) {
        return;
    }
    let dir = tempdir();
    let ppid = p(dir.path(), "ppid");
    let s = format!(
        "( sleep 30 & echo $! > {d}/orphan ); sleep 0.2; o=$(cat {d}/orphan); \
         cut -d' ' -f4 /proc/$o/stat > {ppid}; kill $o",
        d = dir.path().display()
    );
    let child = plain(&["--", "sh", "-c", &s])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let sup = child.id();
    let out = finish(child, 20);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&ppid).unwrap().trim(),
        sup.to_string(),
        "orphan not adopted by respawn"
    );
}
