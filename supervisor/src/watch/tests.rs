//! Watcher tests: real inotify (and real polling) on temporary directories, driven by a small
//! event loop like the supervisor's, with the file activity happening concurrently.

use super::*;
use std::fs;
use std::io::Write;
use std::process::Command;
use std::thread;

mod limits;
mod polling;
mod scenarios;

/// Runs a poll loop for `dur` and returns the instants at which the watcher fired.
fn run_loop(w: &mut Watcher, dur: Duration) -> Vec<Instant> {
    let end = Instant::now() + dur;
    let mut fires = Vec::new();
    loop {
        let now = Instant::now();
        if now >= end {
            return fires;
        }
        let until = w.next_deadline().map_or(end, |d| d.min(end));
        let timeout = until.saturating_duration_since(now);
        let ms = timeout.as_micros().div_ceil(1000) as i32;
        let readable = match w.fd() {
            Some(fd) => {
                let mut pfd = libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one valid pollfd for the duration of the call.
                unsafe { libc::poll(&mut pfd, 1, ms) > 0 }
            }
            None => {
                thread::sleep(timeout);
                false
            }
        };
        let now = Instant::now();
        if readable {
            w.handle_readable(now);
        }
        if w.on_timer(now) {
            fires.push(now);
        }
    }
}

fn watcher(paths: &[&Path], ignores: &[&str]) -> Watcher {
    let paths: Vec<PathBuf> = paths.iter().map(|p| p.to_path_buf()).collect();
    let ignores: Vec<String> = ignores.iter().map(|s| s.to_string()).collect();
    let opts = WatchOptions {
        debounce: DEFAULT_DEBOUNCE,
        poll: None,
    };
    let w = Watcher::with_options(&paths, &ignores, &opts).unwrap();
    assert!(!w.is_polling(), "inotify must be available for these tests");
    w
}

/// Runs `act` on another thread after a short pause while the loop runs; the loop goes on for
/// `tail` after `act` is done, however long it took (machines under load are slow).
fn fires_during(w: &mut Watcher, tail: Duration, act: impl FnOnce() + Send + 'static) -> Vec<Instant> {
    let h = thread::spawn(move || {
        thread::sleep(Duration::from_millis(30));
        act();
    });
    let mut fires = Vec::new();
    while !h.is_finished() {
        fires.extend(run_loop(w, Duration::from_millis(20)));
    }
    h.join().expect("file activity panicked");
    fires.extend(run_loop(w, tail));
    fires
}

/// Tests whose verdict depends on timing take turns, so they do not load the machine for each other.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

const SETTLE: Duration = Duration::from_millis(700);

#[test]
fn idle_watcher_has_no_deadline() {
    let d = tempfile::tempdir().unwrap();
    let mut w = watcher(&[d.path()], &[]);
    assert_eq!(w.next_deadline(), None);
    assert!(run_loop(&mut w, Duration::from_millis(100)).is_empty());
    assert_eq!(w.take_message(), None);
}

#[test]
fn one_file_write_fires_once() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("main.py");
    fs::write(&f, "v1").unwrap();
    let mut w = watcher(&[d.path()], &[]);
    let fires = fires_during(&mut w, SETTLE, move || fs::write(&f, "v2").unwrap());
    assert_eq!(fires.len(), 1);
    assert_eq!(w.next_deadline(), None, "idle again after firing");
}

#[test]
fn tar_extract_of_200_files_fires_once() {
    let _serial = serial();
    let src = tempfile::tempdir().unwrap();
    for i in 0..200 {
        let sub = src.path().join(format!("pkg{}", i % 10));
        fs::create_dir_all(&sub).unwrap();
        fs::write(
            sub.join(format!("file{i}.txt")),
            format!("content {i}\n").repeat(50),
        )
        .unwrap();
    }
    let tdir = tempfile::tempdir().unwrap();
    let tarball = tdir.path().join("sync.tar");
    let st = Command::new("tar")
        .arg("cf")
        .arg(&tarball)
        .arg("-C")
        .arg(src.path())
        .arg(".")
        .status()
        .unwrap();
    assert!(st.success());
    let dst = tempfile::tempdir().unwrap();
    let mut w = watcher(&[dst.path()], &[]);
    let (t, d) = (tarball.clone(), dst.path().to_path_buf());
    let span = std::sync::Arc::new(std::sync::Mutex::new(None));
    let span2 = span.clone();
    let fires = fires_during(&mut w, SETTLE, move || {
        let start = Instant::now();
        let st = Command::new("tar")
            .arg("xf")
            .arg(&t)
            .arg("-C")
            .arg(&d)
            .status()
            .unwrap();
        assert!(st.success());
        *span2.lock().unwrap() = Some((start, Instant::now()));
    });
    let (start, end) = span.lock().unwrap().expect("tar ran");
    let rel: Vec<String> = fires
        .iter()
        .map(|f| format!("{:?}", f.saturating_duration_since(start)))
        .collect();
    assert_eq!(
        fires.len(),
        1,
        "one tar extract must be one restart: tar took {:?}, fired at {rel:?}",
        end - start
    );
    assert_eq!(fs::read_dir(dst.path().join("pkg3")).unwrap().count(), 20);
}

#[test]
fn slowly_written_large_file_fires_once_after_close() {
    let _serial = serial();
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("big.bin");
    let mut w = watcher(&[d.path()], &[]);
    let closed = std::sync::Arc::new(std::sync::Mutex::new(None));
    let c2 = closed.clone();
    let fires = fires_during(&mut w, SETTLE, move || {
        let mut file = fs::File::create(&f).unwrap();
        // Created, then nothing for longer than the debounce: still being written.
        thread::sleep(Duration::from_millis(100));
        for _ in 0..8 {
            file.write_all(&vec![7u8; 1 << 20]).unwrap();
            // Longer than the debounce, shorter than WRITER_QUIET_MAX.
            thread::sleep(Duration::from_millis(150));
        }
        drop(file);
        *c2.lock().unwrap() = Some(Instant::now());
    });
    let closed = closed.lock().unwrap().expect("writer finished");
    assert_eq!(fires.len(), 1, "fired {} times", fires.len());
    assert!(
        fires[0] >= closed,
        "fired {:?} before the file was closed",
        closed - fires[0]
    );
}

#[test]
fn writer_that_never_closes_fires_after_quiet_max() {
    let _serial = serial();
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("held-open.log");
    let mut w = watcher(&[d.path()], &[]);
    let mut file = fs::File::create(&f).unwrap();
    let start = Instant::now();
    file.write_all(b"line\n").unwrap();
    let fires = run_loop(&mut w, WRITER_QUIET_MAX + Duration::from_millis(500));
    drop(file);
    assert_eq!(fires.len(), 1);
    assert!(
        fires[0] - start >= WRITER_QUIET_MAX,
        "fired after {:?}",
        fires[0] - start
    );
}

#[test]
fn bulk_copy_that_stalls_briefly_still_fires_once() {
    let _serial = serial();
    let d = tempfile::tempdir().unwrap();
    let mut w = watcher(&[d.path()], &[]);
    let dir = d.path().to_path_buf();
    let fires = fires_during(&mut w, SETTLE, move || {
        for i in 0..10 {
            fs::write(dir.join(format!("a{i}")), "a").unwrap();
        }
        // A stream that stalls longer than the debounce, well under BULK_QUIET.
        thread::sleep(DEFAULT_DEBOUNCE * 3);
        for i in 0..10 {
            fs::write(dir.join(format!("b{i}")), "b").unwrap();
        }
    });
    assert!(DEFAULT_DEBOUNCE * 3 < BULK_QUIET);
    assert_eq!(fires.len(), 1, "a bulk copy with a pause must be one restart");
}

#[test]
fn small_change_uses_the_short_debounce() {
    let d = tempfile::tempdir().unwrap();
    let mut w = watcher(&[d.path()], &[]);
    fs::write(d.path().join("one"), "1").unwrap();
    thread::sleep(Duration::from_millis(20));
    let now = Instant::now();
    w.handle_readable(now);
    assert_eq!(w.next_deadline(), Some(now + DEFAULT_DEBOUNCE));
    for i in 0..=BULK_ENTRIES {
        fs::write(d.path().join(format!("more{i}")), "1").unwrap();
    }
    thread::sleep(Duration::from_millis(20));
    let now = Instant::now();
    w.handle_readable(now);
    assert_eq!(
        w.next_deadline(),
        Some(now + BULK_QUIET),
        "bulk copies wait longer"
    );
    assert!(!w.on_timer(now + DEFAULT_DEBOUNCE));
    assert!(w.on_timer(now + BULK_QUIET));
    assert_eq!(w.next_deadline(), None);
}

#[test]
fn new_subdirectories_are_watched() {
    let d = tempfile::tempdir().unwrap();
    let mut w = watcher(&[d.path()], &[]);
    let root = d.path().to_path_buf();
    let r2 = root.clone();
    let fires = fires_during(&mut w, SETTLE, move || {
        fs::create_dir_all(r2.join("a/b/c")).unwrap()
    });
    assert_eq!(fires.len(), 1, "mkdir -p");
    let r3 = root.clone();
    let fires = fires_during(&mut w, SETTLE, move || {
        fs::write(r3.join("a/b/c/new.txt"), "x").unwrap()
    });
    assert_eq!(fires.len(), 1, "a file in a new nested directory");
}

#[test]
fn delete_and_rename_fire() {
    let d = tempfile::tempdir().unwrap();
    let (a, b) = (d.path().join("a.txt"), d.path().join("b.txt"));
    fs::write(&a, "a").unwrap();
    fs::write(&b, "b").unwrap();
    let mut w = watcher(&[d.path()], &[]);
    assert_eq!(
        fires_during(&mut w, SETTLE, move || fs::remove_file(&a).unwrap()).len(),
        1,
        "delete"
    );
    let c = d.path().join("c.txt");
    assert_eq!(
        fires_during(&mut w, SETTLE, move || fs::rename(&b, &c).unwrap()).len(),
        1,
        "rename"
    );
}

#[test]
fn directory_moved_out_is_no_longer_watched_and_moved_in_is() {
    let d = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    fs::create_dir(d.path().join("sub")).unwrap();
    let mut w = watcher(&[d.path()], &[]);
    let (from, to) = (d.path().join("sub"), outside.path().join("sub"));
    let (f2, t2) = (from.clone(), to.clone());
    assert_eq!(
        fires_during(&mut w, SETTLE, move || fs::rename(&f2, &t2).unwrap()).len(),
        1,
        "move out"
    );
    let t3 = to.clone();
    assert!(
        fires_during(&mut w, SETTLE, move || fs::write(t3.join("x"), "x").unwrap()).is_empty(),
        "moved-out dir"
    );
    let (f4, t4) = (from.clone(), to.clone());
    assert_eq!(
        fires_during(&mut w, SETTLE, move || fs::rename(&t4, &f4).unwrap()).len(),
        1,
        "move back in"
    );
    assert_eq!(
        fires_during(&mut w, SETTLE, move || fs::write(from.join("y"), "y").unwrap()).len(),
        1,
        "moved-in dir"
    );
}

#[test]
fn setup_errors_are_clear() {
    let opts = WatchOptions {
        debounce: DEFAULT_DEBOUNCE,
        poll: None,
    };
    let e = Watcher::with_options(&[PathBuf::from("/nonexistent-s2-watch")], &[], &opts)
        .err()
        .unwrap();
    assert!(
        e.to_string()
            .starts_with("watch /nonexistent-s2-watch: No such file"),
        "{e}"
    );
    let e = Watcher::with_options(&[], &[], &opts).err().unwrap();
    assert_eq!(e.to_string(), "watch: no path to watch");
    let d = tempfile::tempdir().unwrap();
    let e = Watcher::with_options(&[d.path().to_path_buf()], &["a[b".into()], &opts)
        .err()
        .unwrap();
    assert!(e.to_string().contains("unclosed '['"), "{e}");
}

#[test]
fn relative_paths_become_absolute_without_resolving_symlinks() {
    // Unit tests run in the crate directory, which has `src/`.
    let r = root_of(Path::new("src")).unwrap();
    assert!(
        r.dir.is_absolute() && r.dir.ends_with("src") && r.file.is_none(),
        "{r:?}"
    );
    let d = tempfile::tempdir().unwrap();
    fs::write(d.path().join("real"), "x").unwrap();
    std::os::unix::fs::symlink("real", d.path().join("link")).unwrap();
    let r = root_of(&d.path().join("link")).unwrap();
    assert_eq!(
        (r.dir.as_path(), r.file.as_deref()),
        (d.path(), Some("link".as_ref()))
    );
}

#[test]
fn poll_env_values() {
    assert_eq!(parse_poll(""), Ok(None));
    assert_eq!(parse_poll("0"), Ok(None));
    assert_eq!(parse_poll("true"), Ok(Some(DEFAULT_POLL_INTERVAL)));
    assert_eq!(parse_poll("250ms"), Ok(Some(Duration::from_millis(250))));
    assert_eq!(parse_poll("2s"), Ok(Some(Duration::from_secs(2))));
    assert!(parse_poll("5ms").unwrap_err().contains("at least 10ms"));
    assert!(parse_poll("fast").unwrap_err().contains("RESPAWN_WATCH_POLL"));
    assert!(parse_poll("3h").unwrap_err().contains("unknown unit"));
}
