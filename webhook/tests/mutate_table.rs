//! Table test of the pure mutation: every row of the argv table × `$(VAR)` references in pod and
//! image strings × annotation sets, without a socket. The patch is applied with json-patch and
//! the resulting container is checked.

use std::{collections::BTreeMap, sync::Arc};

use respawn_webhook::podview::Pod;
use respawn_webhook::{
    config::Injection,
    image::ImageConfig,
    mutate::{self, Outcome, Plan},
};
use serde_json::{Value, json};

const IMAGE: &str = "registry.local/app:1";

fn pod(command: Option<&[&str]>, args: Option<&[&str]>, annotations: &Value) -> Value {
    let mut c = json!({"name": "app", "image": IMAGE, "env": [{"name": "PORT", "value": "8080"}]});
    if let Some(cmd) = command {
        c["command"] = json!(cmd);
    }
    if let Some(a) = args {
        c["args"] = json!(a);
    }
    json!({"metadata": {"generateName": "app-", "annotations": annotations}, "spec": {"containers": [c]}})
}

/// Runs plan + apply with `image` as the only lookup answer; returns the patched container and
/// whether a lookup was planned.
fn run(pod_json: &Value, image: &ImageConfig) -> (Value, bool) {
    let pod: Pod = serde_json::from_value(pod_json.clone()).unwrap();
    let cfg = Injection::for_tests("sup:1");
    let Plan::Wrap(plan) = mutate::plan(&pod, "dev", &cfg) else {
        panic!("not planned")
    };
    let looked_up = !plan.lookups.is_empty();
    let resolved: mutate::Resolved = BTreeMap::from([(IMAGE.to_string(), Ok(Arc::new(image.clone())))]);
    let Outcome::Patch { patch, .. } = mutate::apply(&pod, &plan, &resolved, &cfg) else {
        panic!("no patch")
    };
    let mut doc = pod_json.clone();
    let patch: json_patch::Patch = serde_json::from_slice(patch.json()).expect("the patch is JSON Patch");
    json_patch::patch(&mut doc, &patch).unwrap();
    (doc["spec"]["containers"][0].clone(), looked_up)
}

fn own(v: Option<&[&str]>) -> Option<Vec<String>> {
    v.map(|v| v.iter().map(|s| s.to_string()).collect())
}

#[test]
fn argv_rows_times_env_refs_times_annotations() {
    let ep: &[&str] = &["/ep", "$(PORT)", "$HOME"];
    let cmd_img: &[&str] = &["serve", "--port=$(PORT)"];
    let pod_cmd: &[&str] = &["/app", "--port=$(PORT)"];
    let pod_args: &[&str] = &["--x=$(PORT)", "$$(PORT)"];
    #[allow(clippy::type_complexity)]
    let rows: &[(Option<&[&str]>, Option<&[&str]>, bool, &[&str])] = &[
        (
            None,
            None,
            true,
            &["--", "/ep", "$$(PORT)", "$$HOME", "serve", "--port=$$(PORT)"],
        ),
        (
            None,
            Some(pod_args),
            true,
            &["--", "/ep", "$$(PORT)", "$$HOME", "--x=$(PORT)", "$$(PORT)"],
        ),
        (Some(pod_cmd), None, false, &["--", "/app", "--port=$(PORT)"]),
        (
            Some(pod_cmd),
            Some(pod_args),
            false,
            &["--", "/app", "--port=$(PORT)", "--x=$(PORT)", "$$(PORT)"],
        ),
    ];
    let annotation_sets = [
        (json!({}), vec![]),
        (
            json!({"respawn.dev/watch": "/app"}),
            vec![("RESPAWN_WATCH", "/app")],
        ),
        (
            json!({"respawn.dev/on-exit": "restart", "respawn.dev/stop-timeout": "3s", "respawn.dev/log-format": "nope"}),
            vec![("RESPAWN_STOP_TIMEOUT", "3s"), ("RESPAWN_ON_EXIT", "restart")],
        ),
    ];
    let image = ImageConfig {
        entrypoint: own(Some(ep)),
        cmd: own(Some(cmd_img)),
        ..Default::default()
    };
    for (i, (command, args, needs_lookup, want_args)) in rows.iter().enumerate() {
        for (annotations, want_env) in &annotation_sets {
            let (c, looked_up) = run(&pod(*command, *args, annotations), &image);
            assert_eq!(looked_up, *needs_lookup, "row {i}: lookup planned");
            assert_eq!(c["command"], json!(["/respawn/respawn"]), "row {i}");
            assert_eq!(c["args"], json!(want_args), "row {i} {annotations}");
            let mut env = vec![json!({"name": "PORT", "value": "8080"})];
            env.extend(want_env.iter().map(|(n, v)| json!({"name": n, "value": v})));
            assert_eq!(c["env"], json!(env), "row {i} {annotations}");
            assert_eq!(
                c["volumeMounts"],
                json!([{"name": "respawn", "mountPath": "/respawn", "readOnly": true}])
            );
        }
    }
}

#[test]
fn image_without_entrypoint_and_cmd_follows_the_failure_policy() {
    let p: Pod = serde_json::from_value(pod(None, None, &json!({}))).unwrap();
    let mut cfg = Injection::for_tests("sup:1");
    let Plan::Wrap(plan) = mutate::plan(&p, "dev", &cfg) else {
        panic!("not planned")
    };
    let resolved: mutate::Resolved =
        BTreeMap::from([(IMAGE.to_string(), Ok(Arc::new(ImageConfig::default())))]);
    let Outcome::Unchanged { warnings, .. } = mutate::apply(&p, &plan, &resolved, &cfg) else {
        panic!("changed")
    };
    assert!(warnings[0].contains("neither ENTRYPOINT nor CMD"), "{warnings:?}");
    cfg.on_lookup_failure = respawn_webhook::config::FailurePolicy::Deny;
    let Plan::Wrap(plan) = mutate::plan(&p, "dev", &cfg) else {
        panic!("not planned")
    };
    let Outcome::Deny { message, .. } = mutate::apply(&p, &plan, &resolved, &cfg) else {
        panic!("not denied")
    };
    assert!(
        message.contains("\"app\"") && message.contains(IMAGE),
        "{message}"
    );
}

#[test]
fn platform_from_node_selector_and_default() {
    let d = respawn_webhook::config::parse_platform("linux/arm64/v8").unwrap();
    let sel = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string().into(), v.to_string().into()))
            .collect()
    };
    let p = mutate::platform(None, &d);
    assert_eq!(*p, d);
    let p = mutate::platform(Some(&sel(&[("kubernetes.io/arch", "amd64")])), &d);
    assert_eq!(
        (p.os.as_str(), p.architecture.as_str(), p.variant.clone()),
        ("linux", "amd64", None)
    );
    let p = mutate::platform(Some(&sel(&[("kubernetes.io/os", "linux")])), &d);
    assert_eq!(
        (p.architecture.as_str(), p.variant.as_deref()),
        ("arm64", Some("v8"))
    );
}

#[test]
fn cluster_defaults_from_the_cli_reach_the_container_and_annotations_win() {
    use clap::Parser;
    let cli = respawn_webhook::config::Config::try_parse_from([
        "respawn-webhook",
        "--default-setting",
        "on-exit=wait",
        "--default-setting",
        "watch=/app",
    ])
    .unwrap();
    let p: Pod = serde_json::from_value(pod(
        Some(&["/bin/app"]),
        None,
        &json!({"respawn.dev/watch": "/src"}),
    ))
    .unwrap();
    let cfg = cli.injection;
    let Plan::Wrap(plan) = mutate::plan(&p, "dev", &cfg) else {
        panic!("not planned")
    };
    let Outcome::Patch { patch, .. } = mutate::apply(&p, &plan, &BTreeMap::new(), &cfg) else {
        panic!("no patch")
    };
    let mut doc = pod(Some(&["/bin/app"]), None, &json!({"respawn.dev/watch": "/src"}));
    let patch: json_patch::Patch = serde_json::from_slice(patch.json()).expect("the patch is JSON Patch");
    json_patch::patch(&mut doc, &patch).unwrap();
    let env = &doc["spec"]["containers"][0]["env"];
    let get = |name: &str| {
        env.as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .map(|e| e["value"].clone())
    };
    assert_eq!(get("RESPAWN_ON_EXIT"), Some(json!("wait")), "{env}");
    assert_eq!(get("RESPAWN_WATCH"), Some(json!("/src")), "{env}");
    let err = respawn_webhook::config::Config::try_parse_from([
        "respawn-webhook",
        "--default-setting",
        "on-exit=explode",
    ])
    .unwrap_err()
    .to_string();
    assert!(err.contains("exit, restart, wait"), "{err}");
}
