//! Probe rewrites through the router: the AdmissionResponse names every probe left as it is
//! (HTTPS, gRPC) in its warnings, and the patched pod is still a valid Pod whose liveness and
//! startup probes run `respawn probe` with their timing fields as they were.

mod common;

use std::sync::Arc;

use common::*;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

fn container<'a>(pod: &'a Value, name: &str) -> &'a Value {
    pod["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap()
}

#[tokio::test]
async fn https_and_grpc_probes_are_named_in_warnings_the_others_are_rewritten() {
    let input = fixture_json("probes.json");
    let resp = review(state(Arc::new(images())), fixture("probes.json")).await;
    assert_eq!(resp["allowed"], true);
    let warnings = strings(&resp["warnings"]);
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    assert!(
        warnings[0]
            .starts_with("respawn: container \"web\": startupProbe left as is (an httpGet with scheme HTTPS"),
        "{}",
        warnings[0]
    );
    assert!(
        warnings[1].starts_with("respawn: container \"worker\": livenessProbe left as is (a grpc check"),
        "{}",
        warnings[1]
    );
    let pod = patched(&input, &resp);
    serde_json::from_value::<Pod>(pod.clone()).expect("still a Pod");
    let (web, worker) = (container(&pod, "web"), container(&pod, "worker"));
    let src = |name: &str| container(&input["request"]["object"], name).clone();
    assert_eq!(
        web["livenessProbe"],
        json!({"exec": {"command": ["/respawn/respawn", "probe", "--grace", "45s", "--timeout", "3s",
                "--http-get", "8080", "--path", "/healthz", "--header", "X-Probe: liveness"]},
            "initialDelaySeconds": 2, "timeoutSeconds": 3, "periodSeconds": 5, "successThreshold": 1,
            "failureThreshold": 4}),
        "named port resolved; grace from respawn.dev/probe-grace"
    );
    assert_eq!(web["startupProbe"], src("web")["startupProbe"], "HTTPS stays");
    assert_eq!(
        web["readinessProbe"],
        src("web")["readinessProbe"],
        "readiness stays"
    );
    assert_eq!(
        worker["livenessProbe"],
        src("worker")["livenessProbe"],
        "gRPC stays"
    );
    assert_eq!(
        strings(&worker["startupProbe"]["exec"]["command"]),
        [
            "/respawn/respawn",
            "probe",
            "--grace",
            "45s",
            "--timeout",
            "1s",
            "--exec",
            "--",
            "/worker",
            "--check",
            "$(MODE)"
        ]
    );
    let pod_ip = |c: &Value| {
        c["env"].as_array().into_iter().flatten().any(|e| {
            e["name"] == "RESPAWN_POD_IP" && e["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
        })
    };
    assert!(pod_ip(web), "web's HTTP check goes to the pod's IP");
    assert!(!pod_ip(worker), "worker's exec check needs no address");
    let recorded: Value = serde_json::from_str(
        pod["metadata"]["annotations"]["respawn.dev/original-probes"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(recorded["web"]["livenessProbe"], src("web")["livenessProbe"]);
    assert_eq!(recorded["worker"]["startupProbe"], src("worker")["startupProbe"]);
    assert!(
        recorded["web"].get("startupProbe").is_none(),
        "only what was replaced"
    );
}

#[tokio::test]
async fn keep_leaves_every_probe_and_warns_about_none() {
    let mut input = fixture_json("probes.json");
    input["request"]["object"]["metadata"]["annotations"] = json!({"respawn.dev/probes": "keep"});
    let resp = review(state(Arc::new(images())), serde_json::to_vec(&input).unwrap()).await;
    assert!(
        resp.get("warnings")
            .is_none_or(|w| w.as_array().unwrap().is_empty()),
        "{resp}"
    );
    let pod = patched(&input, &resp);
    for name in ["web", "worker"] {
        let (before, after) = (
            container(&input["request"]["object"], name),
            container(&pod, name),
        );
        for field in ["livenessProbe", "startupProbe", "readinessProbe"] {
            assert_eq!(before.get(field), after.get(field), "{name} {field}");
        }
    }
    assert!(
        pod["metadata"]["annotations"]
            .get("respawn.dev/original-probes")
            .is_none()
    );
}
