//! `respawn install DEST`: copy our own executable to DEST atomically (temp file in the same
//! directory, fsync, rename), mode 0755. This is what the injected init container runs.
//!
//! The temp file's name is random, never the pid: in a container the installer is always PID 1,
//! so a pid-named temp file collides with a second installer writing to the same volume (podman
//! turns a pod's emptyDir into a volume shared by name; a hostPath or PVC can be shared) and with
//! the leftover of an install killed mid-copy (an emptyDir outlives the init container's restarts).

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Copies the running executable to `dest`. The error message is ready for the user.
pub fn install(dest: &Path) -> Result<(), String> {
    let src = own_executable().map_err(|e| format!("install: cannot open our own executable: {e}"))?;
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    match fs::metadata(&dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(format!("install: directory {} does not exist", dir.display()));
        }
        Err(e) => {
            return Err(format!("install: cannot access directory {}: {e}", dir.display()));
        }
        Ok(m) if !m.is_dir() => {
            return Err(format!("install: {} is not a directory", dir.display()));
        }
        Ok(_) => {}
    }
    if dest.is_dir() {
        return Err(format!(
            "install: {} is a directory; give the full file name, e.g. {}/respawn",
            dest.display(),
            dest.display()
        ));
    }
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (tmp, result) = write_temp(&src, &dir, &name);
    let result = result.and_then(|()| fs::rename(&tmp, dest));
    if let Err(e) = result {
        if !tmp.as_os_str().is_empty() {
            let _ = fs::remove_file(&tmp);
        }
        return Err(match e.raw_os_error() {
            Some(libc::EACCES) | Some(libc::EPERM) | Some(libc::EROFS) => {
                format!("install: directory {} is not writable: {e}", dir.display())
            }
            _ => format!("install: cannot write {}: {e}", dest.display()),
        });
    }
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn own_executable() -> io::Result<File> {
    File::open("/proc/self/exe").or_else(|e| match std::env::args_os().next() {
        Some(a) if a.to_string_lossy().contains('/') => File::open(a),
        _ => Err(e),
    })
}

/// Copies `src` to a new temp file in `dir`, trying fresh random names while a name is taken.
/// Returns the temp file's path (empty if every name was taken: nothing of ours to remove) and the
/// outcome.
fn write_temp(src: &File, dir: &Path, name: &str) -> (PathBuf, io::Result<()>) {
    const ATTEMPTS: u32 = 16;
    let mut last = io::Error::from(io::ErrorKind::AlreadyExists);
    for _ in 0..ATTEMPTS {
        let tmp = dir.join(format!(".{name}.tmp.{:016x}", random_u64()));
        match copy_to(src, &tmp) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = e,
            result => return (tmp, result),
        }
    }
    (PathBuf::new(), Err(last))
}

/// 64 random bits from the kernel; if getrandom(2) is unavailable, the clock's nanoseconds mixed
/// with the pid and a counter (unique enough for a temp name that is retried on collision).
fn random_u64() -> u64 {
    let mut buf = [0u8; 8];
    // SAFETY: buf is valid for 8 writable bytes.
    let n = unsafe { libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), libc::GRND_NONBLOCK) };
    if n == 8 {
        return u64::from_ne_bytes(buf);
    }
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let count = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    nanos ^ (u64::from(std::process::id()) << 32) ^ count.wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

fn copy_to(mut src: &File, tmp: &Path) -> io::Result<()> {
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o755)
        .open(tmp)?;
    io::copy(&mut src, &mut out)?;
    out.set_permissions(fs::Permissions::from_mode(0o755))?;
    out.sync_all()
}
