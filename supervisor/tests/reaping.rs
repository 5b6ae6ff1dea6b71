//! Every zombie is reaped: 10,000 orphaned grandchildren leave none behind, as PID 1 and as a
//! child subreaper.

mod common;
use common::*;

/// Makes N orphans (each `( : & )` forks a subshell that forks and exits, leaving its child
/// to the supervisor), then counts zombies in /proc until none are left or 10 s pass.
fn script(n: u32, marker: &str) -> String {
    format!(
        "i=0; while [ $i -lt {n} ]; do ( : & ); i=$((i+1)); done; \
         t=0; while :; do z=$(cat /proc/[0-9]*/stat 2>/dev/null | grep -c ') Z ' ); \
         [ \"$z\" -eq 0 ] || [ $t -ge 1000 ] && break; t=$((t+1)); sleep 0.01; done; \
         echo \"$z\" > {marker}"
    )
}

#[test]
fn ten_thousand_orphans_leave_no_zombie_as_pid1() {
    let dir = tempdir();
    let marker = p(dir.path(), "zombies");
    let out = run(&mut pid1(&["--", "sh", "-c", &script(10_000, &marker)]), 110);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap().trim(),
        "0",
        "zombies left in the namespace"
    );
}

#[test]
fn orphans_are_reaped_by_the_subreaper() {
    if native_only("orphans_are_reaped_by_the_subreaper", QEMU_NO_SUBREAPER) {
        return;
    }
    let dir = tempdir();
    let marker = p(dir.path(), "zombies");
    // Not PID 1: count only zombies whose parent is the supervisor (the host has others).
    let s = format!(
        "i=0; while [ $i -lt 1000 ]; do ( : & ); i=$((i+1)); done; sup=$PPID; \
         t=0; while :; do z=$(cat /proc/[0-9]*/stat 2>/dev/null | grep -c \") Z $sup \"); \
         [ \"$z\" -eq 0 ] || [ $t -ge 1000 ] && break; t=$((t+1)); sleep 0.01; done; echo \"$z\" > {marker}"
    );
    let out = run(&mut plain(&["--", "sh", "-c", &s]), 60);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&marker).unwrap().trim(), "0");
}
