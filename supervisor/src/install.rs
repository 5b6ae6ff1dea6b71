//! `respawn install DEST`: copy our own executable to DEST atomically (temp file in the same
//! directory, fsync, rename), mode 0755. This is what the injected init container runs.

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
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    let result = copy_to(&src, &tmp).and_then(|()| fs::rename(&tmp, dest));
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
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
