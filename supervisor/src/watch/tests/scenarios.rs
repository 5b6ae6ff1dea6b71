//! Scenario tests: ConfigMap symlink swaps, single-file watches, ignore globs, editor saves.

use super::*;

/// Lays out a ConfigMap volume the way the kubelet's atomic writer does.
fn configmap(dir: &Path, version: &str, value: &str) {
    let ts = dir.join(format!("..{version}"));
    fs::create_dir(&ts).unwrap();
    fs::write(ts.join("app.yaml"), value).unwrap();
    let tmp = dir.join("..data_tmp");
    std::os::unix::fs::symlink(format!("..{version}"), &tmp).unwrap();
    fs::rename(&tmp, dir.join("..data")).unwrap();
    if !dir.join("app.yaml").exists() {
        std::os::unix::fs::symlink("..data/app.yaml", dir.join("app.yaml")).unwrap();
    }
}

fn swap_configmap(dir: PathBuf) -> impl FnOnce() + Send + 'static {
    move || {
        let old: Vec<PathBuf> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with("..2026"))
            .collect();
        configmap(&dir, "2026_11_21_12_00_01.222", "v: 2\n");
        for o in old {
            fs::remove_dir_all(o).unwrap();
        }
    }
}

#[test]
fn configmap_data_symlink_swap_fires_once_for_a_watched_directory() {
    let _serial = serial();
    let d = tempfile::tempdir().unwrap();
    configmap(d.path(), "2026_11_21_12_00_00.111", "v: 1\n");
    let mut w = watcher(&[d.path()], &[]);
    let fires = fires_during(&mut w, SETTLE, swap_configmap(d.path().to_path_buf()));
    assert_eq!(fires.len(), 1);
    assert_eq!(fs::read_to_string(d.path().join("app.yaml")).unwrap(), "v: 2\n");
}

#[test]
fn configmap_data_symlink_swap_fires_for_a_watched_key_file() {
    let d = tempfile::tempdir().unwrap();
    configmap(d.path(), "2026_11_21_12_00_00.111", "v: 1\n");
    let mut w = watcher(&[&d.path().join("app.yaml")], &[]);
    let fires = fires_during(&mut w, SETTLE, swap_configmap(d.path().to_path_buf()));
    assert_eq!(fires.len(), 1);
}

#[test]
fn watched_single_file_ignores_its_neighbours() {
    let d = tempfile::tempdir().unwrap();
    let (f, other) = (d.path().join("config.toml"), d.path().join("other.toml"));
    fs::write(&f, "a").unwrap();
    let mut w = watcher(&[&f], &[]);
    assert!(fires_during(&mut w, SETTLE, move || fs::write(&other, "b").unwrap()).is_empty());
    let (tmp, f2) = (d.path().join("config.toml.tmp"), f.clone());
    let fires = fires_during(&mut w, SETTLE, move || {
        fs::write(&tmp, "new").unwrap();
        fs::rename(&tmp, &f2).unwrap();
    });
    assert_eq!(fires.len(), 1, "atomic replace of the watched file");
}

#[test]
fn ignore_globs_suppress_changes() {
    let d = tempfile::tempdir().unwrap();
    fs::create_dir_all(d.path().join("web/node_modules/left-pad")).unwrap();
    let mut w = watcher(&[d.path()], &["**/node_modules/**", "*.log", "tmp/"]);
    let root = d.path().to_path_buf();
    let fires = fires_during(&mut w, SETTLE, move || {
        fs::write(root.join(".main.py.swp"), "swap").unwrap();
        fs::write(root.join("web/node_modules/left-pad/index.js"), "x").unwrap();
        fs::create_dir_all(root.join("node_modules/new/deep")).unwrap();
        fs::write(root.join("node_modules/new/deep/x.js"), "x").unwrap();
        fs::write(root.join("app.log"), "log").unwrap();
        fs::create_dir(root.join("tmp")).unwrap();
        fs::write(root.join("tmp/cache"), "c").unwrap();
        fs::create_dir_all(root.join(".git/objects")).unwrap();
        fs::write(root.join(".git/objects/ab"), "obj").unwrap();
        fs::create_dir(root.join("__pycache__")).unwrap();
        fs::write(root.join("__pycache__/m.cpython-311.pyc"), "pyc").unwrap();
    });
    assert!(fires.is_empty(), "ignored paths fired {} times", fires.len());
    let root = d.path().to_path_buf();
    let fires = fires_during(&mut w, SETTLE, move || {
        fs::write(root.join("main.py"), "code").unwrap()
    });
    assert_eq!(fires.len(), 1, "a non-ignored file still fires");
}

#[test]
fn vim_save_pattern_fires_once() {
    let _serial = serial();
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("main.go");
    fs::write(&f, "package main // v1\n").unwrap();
    let mut w = watcher(&[d.path()], &[]);
    let dir = d.path().to_path_buf();
    let fires = fires_during(&mut w, SETTLE, move || {
        // Opening the file: the swap file appears and is updated while typing.
        let swp = dir.join(".main.go.swp");
        fs::write(&swp, "swap v1").unwrap();
        thread::sleep(Duration::from_millis(100));
        fs::write(&swp, "swap v2").unwrap();
        thread::sleep(Duration::from_millis(100));
        // :w with backupcopy=no — probe file, rename to backup, write new, delete backup.
        fs::write(dir.join("4913"), "").unwrap();
        fs::remove_file(dir.join("4913")).unwrap();
        fs::rename(dir.join("main.go"), dir.join("main.go~")).unwrap();
        fs::write(dir.join("main.go"), "package main // v2\n").unwrap();
        fs::remove_file(dir.join("main.go~")).unwrap();
        thread::sleep(Duration::from_millis(100));
        fs::remove_file(&swp).unwrap();
    });
    assert_eq!(fires.len(), 1, "one save, fired {} times", fires.len());
}
