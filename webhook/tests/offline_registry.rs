//! `respawn-webhook inject` (the binary) against a real htpasswd registry on loopback: the
//! image's ENTRYPOINT/CMD are looked up with the user's own login file — given with
//! `--registry-config`, found through `$REGISTRY_AUTH_FILE`, or docker's `~/.docker/config.json`
//! — and without a login the lookup is refused, naming the image, by the lookup-failure policy.

mod registry_support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use base64::Engine as _;
use registry_support::*;

const BIN: &str = env!("CARGO_BIN_EXE_respawn-webhook");

/// The htpasswd registry with the test images, pushed once for this binary.
fn registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(|| {
        let creds = format!("{USER}:{PASSWORD}");
        let r = Registry::start("start", &[&creds], None, &[]);
        push_images(&r, Some(&creds));
        r
    })
}

fn login_file(path: &Path, host: &str) {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    let json = serde_json::json!({"auths": {host: {"auth": auth}}, "credsStore": "desktop"});
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, json.to_string()).unwrap();
}

fn deployment(image: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, namespace: dev}}\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec:\n      containers:\n      - {{name: web, image: {image}}}\n"
    )
}

/// Runs `inject --all` on `input` with only `env` as the login environment (HOME = `home`).
fn inject(home: &Path, env: &[(&str, &Path)], args: &[&str], input: &str) -> Output {
    let mut c = Command::new(BIN);
    c.env("HOME", home).env("RESPAWN_WEBHOOK_LOG", "warn");
    for v in [
        "REGISTRY_AUTH_FILE",
        "XDG_RUNTIME_DIR",
        "XDG_CONFIG_HOME",
        "DOCKER_CONFIG",
    ] {
        c.env_remove(v);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    let host = registry().host();
    c.args([
        "inject",
        "--all",
        "--insecure-registry",
        &host,
        "--supervisor-image",
        "sup:1",
        "-f",
        "-",
    ])
    .args(args)
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn args_of(out: &Output) -> Vec<String> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "inject failed: {stderr}");
    let v: serde_json::Value = yaml_serde::from_slice(&out.stdout).unwrap();
    let c = &v["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["command"], serde_json::json!(["/respawn/respawn"]), "{v}");
    serde_json::from_value(c["args"].clone()).unwrap()
}

const SLEEP: [&str; 4] = ["--", "/bin/busybox", "sleep", "3600"];

#[test]
fn the_image_argv_comes_from_the_registry_with_the_users_login() {
    let reg = registry();
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("logins/auth.json");
    login_file(&file, &reg.host());
    let input = deployment(&reg.image("oci"));

    let out = inject(
        home.path(),
        &[],
        &["--registry-config", file.to_str().unwrap()],
        &input,
    );
    assert_eq!(args_of(&out), SLEEP);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("credential helpers are not run"), "{stderr}");

    let out = inject(home.path(), &[("REGISTRY_AUTH_FILE", &file)], &[], &input);
    assert_eq!(args_of(&out), SLEEP, "found through $REGISTRY_AUTH_FILE");

    let docker_home = tempfile::tempdir().unwrap();
    login_file(&docker_home.path().join(".docker/config.json"), &reg.host());
    let out = inject(docker_home.path(), &[], &[], &deployment(&reg.image("cmd-only")));
    assert_eq!(args_of(&out), SLEEP, "found in ~/.docker/config.json");
}

#[test]
fn without_a_login_the_lookup_is_refused_by_policy() {
    let reg = registry();
    let home = tempfile::tempdir().unwrap();
    let image = reg.image("oci");
    let input = deployment(&image);

    let deny = inject(home.path(), &[], &["--on-lookup-failure", "deny"], &input);
    let stderr = String::from_utf8_lossy(&deny.stderr);
    assert_eq!(deny.status.code(), Some(1), "{stderr}");
    assert!(deny.stdout.is_empty(), "nothing written");
    assert!(
        stderr.contains(&format!(
            "denied: respawn: cannot wrap container \"web\" (image \"{image}\")"
        )) && stderr.contains("refused access"),
        "{stderr}"
    );

    let allow = inject(home.path(), &[], &[], &input);
    let stderr = String::from_utf8_lossy(&allow.stderr);
    assert!(allow.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("(image \"{image}\")")) && stderr.contains("left unchanged"),
        "{stderr}"
    );
    let written: serde_json::Value = yaml_serde::from_slice(&allow.stdout).unwrap();
    let given: serde_json::Value = yaml_serde::from_str(&input).unwrap();
    assert_eq!(written, given);
}
