//! Table test of the pure mutation: every row of the argv table × `$(VAR)` references in pod and
//! image strings × annotation sets, without a socket. The patch is applied with json-patch and
//! the resulting container is checked.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;
use respawn_webhook::{
    decision::{self, Decision, Injection, Plan},
    images::{ImageConfig, Platform, Resolved, lookup},
    render,
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

fn resolved(image: &ImageConfig) -> Resolved {
    Resolved::from([(
        lookup::key(IMAGE, &Platform::default()),
        Ok(Arc::new(image.clone())),
    )])
}

/// Plans, decides with `image` as the only lookup answer, renders and applies the patch;
/// returns the decision and the patched pod.
fn decide(pod_json: &Value, image: &ImageConfig, cfg: &Injection) -> (Decision, Option<Value>, bool) {
    let p: Pod = serde_json::from_value(pod_json.clone()).unwrap();
    let Plan::Lookup(plan) = decision::plan(&p, "dev", cfg) else {
        panic!("not planned")
    };
    let looked_up = !plan.wanted().is_empty();
    let d = decision::decide(&p, &plan, &resolved(image), cfg);
    let doc = match &d {
        Decision::Inject(m) => {
            let mut doc = pod_json.clone();
            json_patch::patch(&mut doc, &render::patch(&p, m)).unwrap();
            Some(doc)
        }
        _ => None,
    };
    (d, doc, looked_up)
}

/// The patched container and whether a lookup was planned.
fn run(pod_json: &Value, image: &ImageConfig) -> (Value, bool) {
    let (_, doc, looked_up) = decide(pod_json, image, &Injection::with_image("sup:1"));
    (doc.expect("injected")["spec"]["containers"][0].clone(), looked_up)
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
    let p = pod(None, None, &json!({}));
    let mut cfg = Injection::with_image("sup:1");
    let (d, _, _) = decide(&p, &ImageConfig::default(), &cfg);
    let Decision::Skip { warnings, .. } = d else {
        panic!("changed: {d:?}")
    };
    assert!(warnings[0].contains("neither ENTRYPOINT nor CMD"), "{warnings:?}");
    cfg.on_lookup_failure = decision::FailurePolicy::Deny;
    let (d, _, _) = decide(&p, &ImageConfig::default(), &cfg);
    let Decision::Deny { message, .. } = d else {
        panic!("not denied: {d:?}")
    };
    assert!(
        message.contains("\"app\"") && message.contains(IMAGE),
        "{message}"
    );
}

#[test]
fn platform_from_node_selector_and_default() {
    let d: Platform = "linux/arm64/v8".parse().unwrap();
    let spec = |sel: Value| {
        serde_json::from_value::<k8s_openapi::api::core::v1::PodSpec>(
            json!({"containers": [], "nodeSelector": sel}),
        )
        .unwrap()
    };
    let (p, pinned) = decision::platform_of(&spec(json!({})), &d);
    assert_eq!((p, pinned), (d.clone(), false));
    let (p, pinned) = decision::platform_of(&spec(json!({"kubernetes.io/arch": "amd64"})), &d);
    assert_eq!(
        (p.os.as_str(), p.architecture.as_str(), p.variant.clone(), pinned),
        ("linux", "amd64", None, true)
    );
    let (p, _) = decision::platform_of(&spec(json!({"kubernetes.io/os": "linux"})), &d);
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
    let p = pod(Some(&["/bin/app"]), None, &json!({"respawn.dev/watch": "/src"}));
    let (_, doc, _) = decide(&p, &ImageConfig::default(), &cli.injection.injection(true));
    let env = doc.expect("injected")["spec"]["containers"][0]["env"].clone();
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
