//! Trigger-file tests against real inotify in temporary directories (and one in the real /tmp).

use super::*;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

/// Polls the trigger's fd for up to `within`; true as soon as `handle_readable` fires.
fn fired(t: &mut TriggerFile, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut pfd = libc::pollfd {
            fd: t.fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the duration of the call.
        let n = unsafe { libc::poll(&mut pfd, 1, left.as_millis() as i32) };
        if n > 0 && t.handle_readable(Instant::now()) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
    }
}

const YES: Duration = Duration::from_secs(5);
/// The quiet period used here (the supervisor passes `--debounce`).
const Q: Duration = Duration::from_millis(15);
const NO: Duration = Duration::from_millis(200);

fn run(cmd: &str, args: &[&Path]) {
    let st = Command::new(cmd)
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(st.success(), "{cmd} {args:?} failed");
}

fn setup(existing: bool) -> (tempfile::TempDir, PathBuf, TriggerFile) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".restart-proc");
    if existing {
        std::fs::write(&path, "0").unwrap();
    }
    let t = TriggerFile::new(&path, Q).unwrap();
    (dir, path, t)
}

#[test]
fn write_to_existing_file_fires_once() {
    let (_d, path, mut t) = setup(true);
    std::fs::write(&path, "1").unwrap();
    assert!(fired(&mut t, YES), "write did not fire");
    assert!(!fired(&mut t, NO), "one write fired twice");
}

#[test]
fn plain_touch_of_existing_file_fires_once() {
    let (_d, path, mut t) = setup(true);
    run("touch", &[&path]);
    assert!(fired(&mut t, YES), "touch did not fire");
    assert!(!fired(&mut t, NO), "one touch fired twice");
}

#[test]
fn times_only_change_fires() {
    // busybox `touch` only calls utimes() (both times): IN_ATTRIB without any open for writing.
    let (_d, path, mut t) = setup(true);
    let f = std::fs::File::open(&path).unwrap();
    let when = SystemTime::now() + Duration::from_secs(60);
    f.set_times(std::fs::FileTimes::new().set_accessed(when).set_modified(when))
        .unwrap();
    drop(f);
    assert!(fired(&mut t, YES), "utimes did not fire");
}

#[test]
fn creation_fires() {
    let (_d, path, mut t) = setup(false);
    run("touch", &[&path]);
    assert!(fired(&mut t, YES), "touch creating the file did not fire");
}

#[test]
fn symlink_creation_fires() {
    let (d, path, mut t) = setup(false);
    std::os::unix::fs::symlink(d.path().join("elsewhere"), &path).unwrap();
    assert!(fired(&mut t, YES), "symlink creation did not fire");
}

#[test]
fn move_into_place_fires() {
    let (d, path, mut t) = setup(true);
    let tmp = d.path().join(".restart-proc.tmp");
    std::fs::write(&tmp, "2").unwrap();
    // Writing the temp file is not the trigger.
    assert!(!fired(&mut t, NO), "a different file fired");
    run("mv", &[&tmp, &path]);
    assert!(fired(&mut t, YES), "mv into place did not fire");
}

#[test]
fn other_files_in_the_directory_do_not_fire() {
    let (d, path, mut t) = setup(true);
    let other = d.path().join("other");
    std::fs::write(&other, "x").unwrap();
    run("touch", &[&other]);
    std::fs::create_dir(d.path().join(".restart-proc.d")).unwrap();
    std::fs::rename(&other, d.path().join(".restart-proc-not")).unwrap();
    // Reading the trigger file or deleting it is not a trigger either.
    let _ = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(!fired(&mut t, NO), "unrelated activity fired");
}

#[test]
fn real_tmp_directory_with_unrelated_traffic() {
    let path = PathBuf::from(format!("/tmp/.restart-proc-s2-test-{}", std::process::id()));
    let noise = PathBuf::from(format!("/tmp/.restart-noise-s2-test-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let mut t = TriggerFile::new(&path, Q).unwrap();
    std::fs::write(&noise, "x").unwrap();
    assert!(!fired(&mut t, NO), "another /tmp file fired");
    std::fs::write(&path, "go").unwrap();
    assert!(fired(&mut t, YES), "write in /tmp did not fire");
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(&noise);
}

#[test]
fn relative_path_watches_the_current_directory() {
    let t = TriggerFile::new(Path::new("relative-trigger-name"), Q).unwrap();
    assert_eq!(t.dir, PathBuf::from("."));
}

#[test]
fn bad_paths_are_clear_errors() {
    let e = TriggerFile::new(Path::new("/nonexistent-dir-s2/.restart-proc"), Q).unwrap_err();
    assert!(
        e.to_string()
            .contains("cannot watch directory /nonexistent-dir-s2"),
        "{e}"
    );
    let e = TriggerFile::new(Path::new("/"), Q).unwrap_err();
    assert!(e.to_string().contains("not a file path"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain");
    std::fs::write(&file, "").unwrap();
    let e = TriggerFile::new(&file.join("x"), Q).unwrap_err();
    assert!(e.message.contains("cannot watch directory"), "{e}");
}

#[test]
fn removed_directory_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let mut t = TriggerFile::new(&sub.join("trig"), Q).unwrap();
    std::fs::remove_dir(&sub).unwrap();
    let _ = fired(&mut t, NO);
    let m = t.take_message().expect("a message about the vanished directory");
    assert!(m.contains("is gone"), "{m}");
}

/// Fires on the next event and returns the instant it was handled.
fn fire_at(t: &mut TriggerFile) -> Instant {
    assert!(fired(t, YES), "no event");
    Instant::now()
}

#[test]
fn an_in_place_write_or_touch_is_complete_when_closed() {
    // `date > FILE` and GNU `touch FILE` on an existing file end with IN_CLOSE_WRITE: no quiet
    // period, the next generation may start at once.
    let (_d, path, mut t) = setup(true);
    assert_eq!(t.pending(Instant::now()), None, "settled before any event");
    std::fs::write(&path, "1").unwrap();
    let at = fire_at(&mut t);
    assert_eq!(
        t.pending(at),
        None,
        "an in-place write is not complete when closed"
    );
    run("touch", &[&path]);
    let at = fire_at(&mut t);
    assert_eq!(t.pending(at), None, "a touch is not complete when closed");
}

#[test]
fn a_times_only_touch_settles_after_the_quiet_period() {
    // busybox `touch`, or the metadata step of an extract: IN_ATTRIB alone, more may follow.
    let (_d, path, mut t) = setup(true);
    let f = std::fs::File::open(&path).unwrap();
    let when = SystemTime::now() + Duration::from_secs(60);
    f.set_times(std::fs::FileTimes::new().set_accessed(when).set_modified(when))
        .unwrap();
    drop(f);
    let at = fire_at(&mut t);
    let until = t.pending(at).expect("settling right after the event");
    assert!(until > at && until <= at + Q, "{:?}", until - at);
    assert_eq!(t.pending(until), None, "still settling after the quiet period");
    assert_eq!(t.pending(until), None);
}

#[test]
fn a_created_file_holds_until_closed() {
    use std::io::Write;
    // An extract creates the file, streams its content (maybe slowly), closes it, then sets
    // owner, mode and times: settling lasts until the close, then the quiet period.
    let (_d, path, mut t) = setup(false);
    let mut f = std::fs::File::create(&path).unwrap();
    let at = fire_at(&mut t);
    let held = t
        .pending(at + Q * 4)
        .expect("an open new file settled after the quiet period");
    assert!(held <= at + WRITER_MAX, "held longer than WRITER_MAX");
    // The close ends the hold; owner, mode and times may still follow: the quiet period remains.
    f.write_all(b"x").unwrap();
    drop(f);
    let at = fire_at(&mut t);
    let until = t.pending(at).expect("settling after the close");
    assert!(until <= at + Q, "{:?}", until - at);
}

#[test]
fn close_then_metadata_is_one_action() {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let (_d, path, mut t) = setup(false);
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(b"x").unwrap();
    drop(f);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let at = fire_at(&mut t);
    // Everything was queued together: one firing, closed, settling for the quiet period only.
    let until = t.pending(at).expect("settling");
    assert!(until <= at + Q, "{:?}", until - at);
    assert!(!fired(&mut t, NO), "one action fired twice");
}

#[test]
fn links_do_not_hold() {
    // A symlink or hard link is complete when it appears; nothing will close it.
    let (d, path, mut t) = setup(false);
    std::os::unix::fs::symlink(d.path().join("elsewhere"), &path).unwrap();
    let at = fire_at(&mut t);
    assert!(t.pending(at + Q).is_none(), "a symlink held the start back");
    std::fs::remove_file(&path).unwrap();
    let other = d.path().join("other");
    std::fs::write(&other, "x").unwrap();
    std::fs::hard_link(&other, &path).unwrap();
    let at = fire_at(&mut t);
    assert!(t.pending(at + Q).is_none(), "a hard link held the start back");
}
