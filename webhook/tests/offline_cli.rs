//! The `respawn-webhook` binary, black box: `inject` reads files, directories and stdin and
//! writes what the library's golden files hold; errors exit 1 with nothing on stdout; and the old
//! invocation — no subcommand, the webhook's flags — still serves.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_respawn-webhook");
const SUPERVISOR: &str = "registry.local/respawn-supervisor:0.1.0";

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/offline")
}

/// The binary with no registry login files in reach (a fresh HOME, no auth-file variables).
fn bin(home: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.env("HOME", home)
        .env("RESPAWN_WEBHOOK_LOG", "warn")
        .env("KUBECONFIG", home.join("no-kubeconfig"));
    for v in [
        "REGISTRY_AUTH_FILE",
        "XDG_RUNTIME_DIR",
        "XDG_CONFIG_HOME",
        "DOCKER_CONFIG",
    ] {
        c.env_remove(v);
    }
    c
}

fn inject(home: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut c = bin(home);
    c.args([
        "inject",
        "--supervisor-image",
        SUPERVISOR,
        "--enabled-namespace",
        "dev",
    ])
    .args(args)
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = c.spawn().expect("the binary runs");
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn golden(name: &str) -> String {
    std::fs::read_to_string(fixtures().join(name)).unwrap()
}

#[test]
fn files_and_stdin_give_the_golden_output() {
    let home = tempfile::tempdir().unwrap();
    let (rc, sts) = (
        fixtures().join("replicationcontroller.yaml"),
        fixtures().join("statefulset.yaml"),
    );
    let out = inject(
        home.path(),
        &["-f", rc.to_str().unwrap(), "-f", "-"],
        Some(&std::fs::read_to_string(&sts).unwrap()),
    );
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let want = format!(
        "{}---\n{}",
        golden("replicationcontroller.injected.yaml"),
        golden("statefulset.injected.yaml")
    );
    assert_eq!(text(&out.stdout), want);
    assert!(
        stderr.contains("replicationcontroller.yaml, document 1 (ReplicationController dev/legacy): injected (containers: legacy)")
            && stderr.contains("<stdin>, document 1 (StatefulSet data/db): injected (containers: db)"),
        "{stderr}"
    );
    let quiet = inject(home.path(), &["-q", "-f", rc.to_str().unwrap()], None);
    assert!(
        quiet.status.success() && quiet.stderr.is_empty(),
        "{}",
        text(&quiet.stderr)
    );
}

#[test]
fn a_directory_is_read_in_name_order() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (name, fixture) in [
        ("b.yaml", "statefulset.yaml"),
        ("a.yml", "replicationcontroller.yaml"),
    ] {
        std::fs::copy(fixtures().join(fixture), dir.path().join(name)).unwrap();
    }
    std::fs::write(dir.path().join("notes.txt"), "not a manifest").unwrap();
    let out = inject(home.path(), &["-f", dir.path().to_str().unwrap()], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let want = format!(
        "{}---\n{}",
        golden("replicationcontroller.injected.yaml"),
        golden("statefulset.injected.yaml")
    );
    assert_eq!(text(&out.stdout), want);
}

#[test]
fn an_unreadable_document_means_nothing_written() {
    let home = tempfile::tempdir().unwrap();
    let bad = home.path().join("bad.yaml");
    std::fs::write(&bad, "apiVersion: v1\nkind: ConfigMap\n---\nmetadata: {name: [\n").unwrap();
    let rc = fixtures().join("replicationcontroller.yaml");
    let missing = home.path().join("missing.yaml");
    let out = inject(
        home.path(),
        &[
            "-f",
            rc.to_str().unwrap(),
            "-f",
            bad.to_str().unwrap(),
            "-f",
            missing.to_str().unwrap(),
        ],
        None,
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty(), "partial write: {}", text(&out.stdout));
    assert!(
        stderr.contains(&format!("error: cannot read {}", missing.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("error: {}, document 2: invalid YAML", bad.display())),
        "{stderr}"
    );
    assert!(stderr.contains("2 error(s); nothing written"), "{stderr}");
}

#[test]
fn lookup_failures_follow_the_policy_and_name_the_image() {
    let home = tempfile::tempdir().unwrap();
    // Nothing listens on port 1: the lookup fails at once.
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: dev}\nspec:\n  containers:\n  - {name: app, image: 127.0.0.1:1/team/app:v1}\n";
    let base = ["--insecure-registry", "127.0.0.1:1", "-f", "-"];
    let deny = inject(
        home.path(),
        &[&base[..], &["--on-lookup-failure", "deny"]].concat(),
        Some(pod),
    );
    let stderr = text(&deny.stderr);
    assert_eq!(deny.status.code(), Some(1), "{stderr}");
    assert!(deny.stdout.is_empty());
    assert!(
        stderr.contains("<stdin>, document 1 (Pod dev/p): denied: respawn: cannot wrap container \"app\" (image \"127.0.0.1:1/team/app:v1\")"),
        "{stderr}"
    );
    let allow = inject(home.path(), &base, Some(pod));
    let stderr = text(&allow.stderr);
    assert!(allow.status.success(), "{stderr}");
    assert!(stderr.contains("warning: <stdin>, document 1 (Pod dev/p): respawn: cannot wrap container \"app\" (image \"127.0.0.1:1/team/app:v1\")"), "{stderr}");
    let written: serde_json::Value = yaml_serde::from_str(&text(&allow.stdout)).unwrap();
    let given: serde_json::Value = yaml_serde::from_str(pod).unwrap();
    assert_eq!(written, given, "the document is written unchanged");
}

#[test]
fn flags_that_cannot_apply_offline_are_refused() {
    let home = tempfile::tempdir().unwrap();
    let out = inject(home.path(), &["--global-pull-secret", "ns/name"], Some(""));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--global-pull-secret"),
        "{}",
        text(&out.stderr)
    );
    // The server's flags belong before no subcommand, not before `inject`.
    let out = bin(home.path())
        .args(["--listen", "127.0.0.1:1", "inject"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[test]
fn without_a_subcommand_it_still_serves() {
    let home = tempfile::tempdir().unwrap();
    let child = bin(home.path())
        .env("RESPAWN_WEBHOOK_LOG", "info")
        .env("NO_COLOR", "1")
        .env("RESPAWN_WEBHOOK_SUPERVISOR_IMAGE", SUPERVISOR)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
            "--shutdown-grace",
            "1s",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let mut lines = BufReader::new(child.0.stderr.take().unwrap()).lines();
    let serving = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.contains("serving admission="))
        .expect("the server logs `serving`");
    let ops = serving
        .split_whitespace()
        .find_map(|w| w.strip_prefix("ops="))
        .unwrap_or_else(|| panic!("no ops= in {serving:?}"))
        .to_string();
    assert!(serving.contains(SUPERVISOR), "the env flag applies: {serving}");
    let mut stream = std::net::TcpStream::connect(&ops).unwrap();
    write!(stream, "GET /healthz HTTP/1.0\r\nHost: {ops}\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    drop(child);
    assert!(
        answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"),
        "{answer}"
    );
}

/// The server process, killed when the test ends, passed or not.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
