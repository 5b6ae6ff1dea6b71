//! Polling mode: forced, while a file is being written, and the fallbacks from inotify (queue
//! overflow, running out of watches mid-run).

use super::*;

#[test]
fn polling_mode_detects_changes_once() {
    let d = tempfile::tempdir().unwrap();
    fs::create_dir(d.path().join("sub")).unwrap();
    let opts = WatchOptions {
        debounce: DEFAULT_DEBOUNCE,
        poll: Some(Duration::from_millis(50)),
    };
    let mut w = Watcher::with_options(&[d.path().to_path_buf()], &["*.log".into()], &opts).unwrap();
    assert!(w.is_polling() && w.fd().is_none());
    assert!(w.take_message().unwrap().contains("polling"));
    assert!(w.next_deadline().is_some(), "polling needs a timer");
    assert!(
        run_loop(&mut w, Duration::from_millis(300)).is_empty(),
        "no change, no fire"
    );
    let dir = d.path().to_path_buf();
    let fires = fires_during(&mut w, Duration::from_millis(800), move || {
        fs::write(dir.join("sub/a.txt"), "a").unwrap();
        fs::write(dir.join("sub/b.txt"), "b").unwrap();
    });
    assert_eq!(fires.len(), 1);
    let dir = d.path().to_path_buf();
    assert!(
        fires_during(&mut w, Duration::from_millis(500), move || fs::write(
            dir.join("x.log"),
            "l"
        )
        .unwrap())
        .is_empty()
    );
    let dir = d.path().to_path_buf();
    let fires = fires_during(&mut w, Duration::from_millis(800), move || {
        fs::remove_file(dir.join("sub/a.txt")).unwrap()
    });
    assert_eq!(fires.len(), 1, "delete seen by polling");
}

#[test]
fn polling_mode_waits_for_a_file_being_written() {
    let _serial = serial();
    let d = tempfile::tempdir().unwrap();
    let opts = WatchOptions {
        debounce: DEFAULT_DEBOUNCE,
        poll: Some(Duration::from_millis(100)),
    };
    let mut w = Watcher::with_options(&[d.path().to_path_buf()], &[], &opts).unwrap();
    let f = d.path().join("upload.bin");
    let closed = std::sync::Arc::new(std::sync::Mutex::new(None));
    let c2 = closed.clone();
    let fires = fires_during(&mut w, Duration::from_millis(800), move || {
        let mut file = fs::File::create(&f).unwrap();
        for _ in 0..30 {
            file.write_all(&[1u8; 4096]).unwrap();
            thread::sleep(Duration::from_millis(20));
        }
        drop(file);
        *c2.lock().unwrap() = Some(Instant::now());
    });
    let closed = closed.lock().unwrap().expect("writer finished");
    assert_eq!(fires.len(), 1, "fired {} times", fires.len());
    assert!(fires[0] >= closed, "fired before the file was complete");
}

#[test]
fn event_queue_overflow_fires_once_and_keeps_watching() {
    let _serial = serial();
    let max: usize = fs::read_to_string("/proc/sys/fs/inotify/max_queued_events")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        max <= 1 << 20,
        "fs.inotify.max_queued_events={max} is too large to overflow in a test"
    );
    let d = tempfile::tempdir().unwrap();
    fs::create_dir(d.path().join("sub")).unwrap();
    let mut w = watcher(&[d.path()], &[]);
    // Nobody reads meanwhile: IN_CREATE + IN_CLOSE_WRITE per file overflow the queue.
    for i in 0..max / 2 + 100 {
        fs::write(d.path().join(format!("f{i}")), "").unwrap();
    }
    assert_eq!(run_loop(&mut w, SETTLE).len(), 1, "an overflow is one change");
    let sub = d.path().join("sub");
    let fires = fires_during(&mut w, SETTLE, move || fs::write(sub.join("x"), "x").unwrap());
    assert_eq!(
        fires.len(),
        1,
        "subdirectories are still watched after an overflow"
    );
}

#[test]
fn fallback_to_polling_mid_run_keeps_watching() {
    let d = tempfile::tempdir().unwrap();
    let mut w = watcher(&[d.path()], &[]);
    w.fall_back(
        "inotify_add_watch: No space left on device (os error 28)",
        Instant::now(),
    );
    assert!(w.is_polling() && w.fd().is_none());
    let m = w.take_message().unwrap();
    assert!(
        m.contains("falling back to polling") && m.contains("max_user_watches"),
        "{m}"
    );
    // The burst that was under way when inotify gave up still restarts once.
    assert_eq!(run_loop(&mut w, Duration::from_millis(400)).len(), 1);
    let dir = d.path().to_path_buf();
    let fires = fires_during(&mut w, Duration::from_millis(1500), move || {
        fs::write(dir.join("n"), "n").unwrap()
    });
    assert_eq!(fires.len(), 1);
}
