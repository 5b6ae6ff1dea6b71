//! Router `oneshot` tests: fixture AdmissionReviews in, AdmissionReviews out, patches applied
//! with json-patch to the request's object and checked as a real Pod.

mod common;

use std::sync::Arc;

use common::*;
use http::StatusCode;
use k8s_openapi::api::core::v1::Pod;
use respawn_webhook::images::StaticProvider;
use serde_json::{Value, json};

fn find<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {list}"))
}

#[tokio::test]
async fn replicaset_pod_is_wrapped_with_image_entrypoint_and_pod_args() {
    let input = fixture_json("replicaset-pod.json");
    let provider = Recording::new(images());
    let resp = review(state(provider.clone()), fixture("replicaset-pod.json")).await;
    assert_eq!(resp["uid"], input["request"]["uid"]);
    assert_eq!(resp["allowed"], true);
    let pod = patched(&input, &resp);
    let c = &pod["spec"]["containers"][0];
    assert_eq!(c["command"], json!(["/respawn/respawn"]));
    // ENTRYPOINT escaped, pod args verbatim, CMD dropped.
    assert_eq!(
        strings(&c["args"]),
        [
            "--",
            "/docker-entrypoint.sh",
            "$$HOME/x",
            "--port=$(PORT)",
            "--greeting=$$HOME"
        ]
    );
    assert_eq!(
        c["volumeMounts"][1],
        json!({"name": "respawn", "mountPath": "/respawn", "readOnly": true})
    );
    assert_eq!(
        c["env"],
        json!([{"name": "PORT", "value": "8080"}]),
        "no annotations, no RESPAWN_* env"
    );
    let init = &pod["spec"]["initContainers"][0];
    assert_eq!(init["name"], "respawn-install");
    assert_eq!(init["image"], SUPERVISOR);
    assert_eq!(
        init["volumeMounts"],
        json!([
            {"name": "respawn", "mountPath": "/respawn-vol"},
            {"name": "respawn", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true}
        ])
    );
    assert_eq!(
        pod["spec"]["volumes"][1],
        json!({"name": "respawn", "emptyDir": {"sizeLimit": "16Mi"}})
    );
    let ann = &pod["metadata"]["annotations"];
    assert_eq!(ann["respawn.dev/status"], "injected");
    // The label the chart's objectSelector skips injected pods by.
    assert_eq!(pod["metadata"]["labels"]["respawn.dev/injected"], "true");
    let orig: Value = serde_json::from_str(ann["respawn.dev/original-argv"].as_str().unwrap()).unwrap();
    assert_eq!(orig["web"]["command"], Value::Null);
    assert_eq!(
        orig["web"]["args"],
        json!(["--port=$(PORT)", "--greeting=$$HOME"])
    );
    assert_eq!(
        orig["web"]["entrypoint"],
        json!(["/docker-entrypoint.sh", "$HOME/x"])
    );
    // Untouched: generateName, ownerReferences, no name invented.
    assert_eq!(pod["metadata"]["generateName"], "web-7d9f8b6c5d-");
    assert!(pod["metadata"].get("name").is_none());
    assert_eq!(
        pod["metadata"]["ownerReferences"],
        input["request"]["object"]["metadata"]["ownerReferences"]
    );
    serde_json::from_value::<Pod>(pod).expect("the patched object is a valid Pod");
    let reqs = provider.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        (&*reqs[0].namespace, &*reqs[0].service_account),
        ("dev", "default")
    );
}

#[tokio::test]
async fn patch_touches_only_what_changes() {
    let input = fixture_json("replicaset-pod.json");
    let resp = review(state(Arc::new(images())), fixture("replicaset-pod.json")).await;
    let patch = patch_of(&resp).unwrap();
    let paths: Vec<String> = patch
        .0
        .iter()
        .map(|op| match op {
            json_patch::PatchOperation::Add(a) => a.path.to_string(),
            other => panic!("only add operations expected, got {other:?}"),
        })
        .collect();
    assert_eq!(
        paths,
        [
            "/spec/initContainers",
            "/spec/volumes/-",
            "/spec/containers/0/command",
            "/spec/containers/0/args",
            "/spec/containers/0/volumeMounts/-",
            "/metadata/labels/respawn.dev~1injected",
            "/metadata/annotations",
        ]
    );
    // Everything outside those paths is identical.
    let mut pod = patched(&input, &resp);
    let orig = &input["request"]["object"];
    pod["spec"]["volumes"].as_array_mut().unwrap().pop();
    pod["spec"].as_object_mut().unwrap().remove("initContainers");
    pod["metadata"].as_object_mut().unwrap().remove("annotations");
    let labels = pod["metadata"]["labels"].as_object_mut().unwrap();
    assert_eq!(labels.remove("respawn.dev/injected"), Some(json!("true")));
    let c = pod["spec"]["containers"][0].as_object_mut().unwrap();
    c.remove("command");
    c.insert("args".into(), orig["spec"]["containers"][0]["args"].clone());
    c["volumeMounts"].as_array_mut().unwrap().pop();
    assert_eq!(&pod, orig);
}

#[tokio::test]
async fn init_containers_volumes_and_name_collisions() {
    let input = fixture_json("init-and-volumes.json");
    // No lookup may happen: every wrapped container sets `command`.
    let provider = Recording::new(StaticProvider::new());
    let resp = review(state(provider.clone()), fixture("init-and-volumes.json")).await;
    assert!(provider.requests().is_empty());
    let pod = patched(&input, &resp);
    let spec = &pod["spec"];
    let inits: Vec<&str> = spec["initContainers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        inits,
        ["respawn-install-1", "migrate", "log-shipper"],
        "ours first, renamed"
    );
    assert_eq!(spec["initContainers"][0]["volumeMounts"][0]["name"], "respawn-2");
    assert_eq!(
        find(&spec["volumes"], "respawn-2")["emptyDir"],
        json!({"sizeLimit": "16Mi"})
    );
    assert_eq!(
        find(&spec["volumes"], "respawn")["emptyDir"],
        json!({}),
        "user volume untouched"
    );
    let api = find(&spec["containers"], "api");
    assert_eq!(strings(&api["args"]), ["--", "/bin/api", "serve"]);
    assert_eq!(
        api["volumeMounts"][1],
        json!({"name": "respawn", "mountPath": "/data"})
    );
    assert_eq!(api["volumeMounts"][2]["name"], "respawn-2");
    assert_eq!(api["env"], json!([{"name": "RESPAWN_WATCH", "value": "/app"}]));
    let helper = find(&spec["containers"], "respawn-install");
    assert_eq!(strings(&helper["args"]), ["--", "/helper"]);
    // Native sidecar and regular init container untouched.
    assert_eq!(
        spec["initContainers"][2],
        input["request"]["object"]["spec"]["initContainers"][1]
    );
    assert_eq!(
        spec["initContainers"][1],
        input["request"]["object"]["spec"]["initContainers"][0]
    );
    serde_json::from_value::<Pod>(pod).unwrap();
}

#[tokio::test]
async fn multi_container_annotations_select_and_configure() {
    let input = fixture_json("multi-container.json");
    let provider = Recording::new(images());
    let resp = review(state(provider.clone()), fixture("multi-container.json")).await;
    assert_eq!(
        provider.requests().len(),
        1,
        "app and worker share one image: one lookup"
    );
    let pod = patched(&input, &resp);
    let cs = &pod["spec"]["containers"];
    let app = find(cs, "app");
    assert_eq!(
        strings(&app["args"]),
        ["--", "/bin/sh", "-c", "exec app --home=$$HOME"]
    );
    let env: Vec<(String, String)> = app["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().into(),
                e["value"].as_str().unwrap().into(),
            )
        })
        .collect();
    // In the supervisor's option order (respawn_settings::OPTIONS).
    let want = [
        ("RESPAWN_STOP_SIGNAL", "SIGINT"),
        ("RESPAWN_STOP_TIMEOUT", "30s"),
        ("RESPAWN_ON_EXIT", "wait"),
        ("RESPAWN_ENV_FILE", "/config/.env"),
        ("RESPAWN_PRE_START", "/app/bin/setup --fast"),
        ("RESPAWN_LOG_FORMAT", "prefix"),
        ("RESPAWN_TRIGGER_FILE", "/tmp/.restart-proc"),
        ("RESPAWN_WATCH", "/app,/etc/app"),
    ];
    assert_eq!(env, want.map(|(a, b)| (a.to_string(), b.to_string())));
    let worker = find(cs, "worker");
    assert_eq!(
        strings(&worker["args"]),
        ["--", "worker", "--queue=$(QUEUE)"],
        "no ENTRYPOINT: pod args alone"
    );
    let worker_env = worker["env"].as_array().unwrap();
    assert_eq!(
        worker_env
            .iter()
            .filter(|e| e["name"] == "RESPAWN_ON_EXIT")
            .count(),
        1,
        "user value kept"
    );
    assert_eq!(worker_env.len(), 2 + 7);
    let proxy = find(cs, "proxy");
    assert_eq!(
        proxy,
        find(&input["request"]["object"]["spec"]["containers"], "proxy"),
        "not chosen"
    );
    let warnings = strings(&resp["warnings"]).join("\n");
    for needle in [
        "\"ghost\"",
        "\"migrate\"",
        "init container",
        "respawn.dev/bogus",
        "already sets RESPAWN_ON_EXIT",
    ] {
        assert!(warnings.contains(needle), "{needle} not in {warnings}");
    }
    let orig: Value = serde_json::from_str(
        pod["metadata"]["annotations"]["respawn.dev/original-argv"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        orig.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["app", "worker"]
    );
}

#[tokio::test]
async fn pss_restricted_pod_lookup_carries_credentials_and_platform() {
    let input = fixture_json("pss-restricted.json");
    let provider = Recording::new(images());
    let resp = review(state(provider.clone()), fixture("pss-restricted.json")).await;
    let req = &provider.requests()[0];
    assert_eq!(*req.pull_secrets, ["regcred"]);
    assert_eq!(req.service_account, "builder");
    assert_eq!(
        (req.platform.os.as_str(), req.platform.architecture.as_str()),
        ("linux", "arm64")
    );
    let pod: Pod = serde_json::from_value(patched(&input, &resp)).unwrap();
    let spec = pod.spec.unwrap();
    let init = &spec.init_containers.unwrap()[0];
    let sc = init.security_context.as_ref().unwrap();
    assert_eq!(sc.run_as_non_root, Some(true));
    assert_eq!(sc.allow_privilege_escalation, Some(false));
    assert_eq!(sc.read_only_root_filesystem, Some(true));
    assert_eq!(
        sc.capabilities.as_ref().unwrap().drop,
        Some(vec!["ALL".to_string()])
    );
    assert_eq!(sc.seccomp_profile.as_ref().unwrap().type_, "RuntimeDefault");
    // The pod sets no resources (BestEffort): the init container sets none either.
    assert_eq!(init.resources, None);
    assert_eq!(spec.containers[0].args.as_ref().unwrap(), &["--", "/secure"]);
}

#[tokio::test]
async fn pods_left_alone_are_allowed_without_a_patch() {
    for (name, reason) in [
        ("already-injected.json", "already_injected"),
        ("disabled.json", "disabled"),
        ("kube-system.json", "excluded_namespace"),
        ("windows.json", "windows"),
    ] {
        let st = state(Arc::new(images()));
        let resp = review(st.clone(), fixture(name)).await;
        assert_eq!(resp["allowed"], true, "{name}");
        assert!(resp.get("patch").is_none(), "{name}: {resp}");
        let metrics = st.metrics.render();
        assert!(
            metrics.contains(&format!(
                "respawn_webhook_pods_skipped_total{{reason=\"{reason}\"}} 1"
            )),
            "{name}: {metrics}"
        );
    }
}

#[tokio::test]
async fn non_pod_kinds_are_allowed_with_a_reason() {
    let resp = review(state(Arc::new(images())), fixture("deployment.json")).await;
    assert_eq!(resp["allowed"], true);
    assert!(resp.get("patch").is_none());
    assert!(strings(&resp["warnings"])[0].contains("apps/Deployment"));
}

#[tokio::test]
async fn unreadable_requests_get_an_invalid_review_never_a_5xx() {
    for name in ["garbage.json", "no-request.json"] {
        let resp = review(state(Arc::new(images())), fixture(name)).await;
        assert_eq!(resp["allowed"], false, "{name}");
        assert_eq!(resp["uid"], "", "{name}");
        assert_eq!(resp["status"]["code"], 400, "{name}");
    }
    let input = fixture_json("pod-kind-bad-object.json");
    let resp = review(state(Arc::new(images())), fixture("pod-kind-bad-object.json")).await;
    assert_eq!(resp["uid"], input["request"]["uid"]);
    assert_eq!(resp["allowed"], false);
    assert!(
        resp["status"]["message"]
            .as_str()
            .unwrap()
            .contains("not a valid Pod")
    );
}

#[tokio::test]
async fn wrong_path_method_and_oversized_bodies() {
    let st = state(Arc::new(images()));
    let (s, _) = call(
        router(st.clone()),
        "POST",
        "/validate",
        fixture("replicaset-pod.json"),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call(router(st.clone()), "GET", "/mutate", vec![]).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    let (s, _) = call(router(st), "POST", "/mutate", vec![b' '; 2 * 1024 * 1024]).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
}
