//! The polling fallback against the kernel's real inotify limits: the test re-runs itself in a
//! new user namespace (`unshare -Ur`), where `/proc/sys/user/max_inotify_watches` is private and
//! can be lowered without touching the machine's limit.

use super::*;

const INNER: &str = "RESPAWN_TEST_INOTIFY_LIMITS_INNER";

fn set_watch_limit(n: usize) {
    fs::write("/proc/sys/user/max_inotify_watches", n.to_string()).expect("lower max_inotify_watches");
}

fn make_dirs(root: &Path, n: usize) {
    for i in 0..n {
        fs::create_dir_all(root.join(format!("d{i}"))).unwrap();
    }
}

/// Runs inside the user namespace.
fn inner() {
    // Out of watches while setting up: polling from the start, with the reason.
    let d = tempfile::tempdir().unwrap();
    make_dirs(d.path(), 10);
    set_watch_limit(5);
    let opts = WatchOptions {
        debounce: DEFAULT_DEBOUNCE,
        poll: None,
    };
    let mut w = Watcher::with_options(&[d.path().to_path_buf()], &[], &opts).unwrap();
    assert!(
        w.is_polling() && w.fd().is_none(),
        "10 directories with 5 watches must poll"
    );
    let m = w.take_message().expect("a message saying why");
    assert!(
        m.contains("No space left on device") && m.contains("falling back to polling"),
        "{m}"
    );
    let f = d.path().join("d3/x");
    assert_eq!(
        fires_during(&mut w, Duration::from_millis(1500), move || fs::write(&f, "x")
            .unwrap())
        .len(),
        1
    );

    // Out of watches in the middle of a run: a big new tree arrives.
    set_watch_limit(60);
    let d = tempfile::tempdir().unwrap();
    make_dirs(d.path(), 2);
    let mut w = Watcher::with_options(&[d.path().to_path_buf()], &[], &opts).unwrap();
    assert!(!w.is_polling(), "3 directories fit in 60 watches");
    let root = d.path().to_path_buf();
    let fires = fires_during(&mut w, Duration::from_millis(1500), move || {
        make_dirs(&root.join("vendor"), 100)
    });
    assert!(w.is_polling(), "100 new directories exhaust 60 watches");
    let m = w.take_message().expect("a message saying why");
    assert!(m.contains("falling back to polling"), "{m}");
    assert_eq!(
        fires.len(),
        1,
        "the change that exhausted the watches restarts once"
    );
    let f = d.path().join("vendor/d42/y");
    assert_eq!(
        fires_during(&mut w, Duration::from_millis(1500), move || fs::write(&f, "y")
            .unwrap())
        .len(),
        1
    );

    // No inotify instance left (max_user_instances): the watcher polls, the trigger file says why.
    fs::write("/proc/sys/user/max_inotify_instances", "0").expect("lower max_inotify_instances");
    let mut w = Watcher::with_options(&[d.path().to_path_buf()], &[], &opts).unwrap();
    assert!(w.is_polling());
    let m = w.take_message().unwrap();
    assert!(
        m.contains("inotify_init1") && m.contains("falling back to polling"),
        "{m}"
    );
    let e = crate::trigger::TriggerFile::new(&d.path().join(".restart-proc"), DEFAULT_DEBOUNCE).unwrap_err();
    assert!(e.to_string().contains("inotify unavailable"), "{e}");
    println!("inotify-limits: ok");
}

#[test]
fn inotify_watch_limit_falls_back_to_polling() {
    if std::env::var_os(INNER).is_some() {
        return inner();
    }
    let _serial = serial();
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("unshare")
        .arg("-Ur")
        .arg(&exe)
        .args([
            "--exact",
            "watch::tests::limits::inotify_watch_limit_falls_back_to_polling",
            "--nocapture",
        ])
        .env(INNER, "1")
        .output()
        .expect("run unshare (util-linux)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.contains("inotify-limits: ok"),
        "the test in a user namespace failed (unshare -Ur needs unprivileged user namespaces):\n{text}"
    );
}
