//! The rendered patch applied with json-patch to the pod it was decided for.

use serde_json::{Value, json};

use super::*;
use crate::decision::{self, Decision, Injection, Plan};
use crate::images::Resolved;

fn apply(pod_json: Value) -> Value {
    let pod: Pod = serde_json::from_value(pod_json.clone()).unwrap();
    let cfg = Injection::with_image("sup:1");
    let Plan::Lookup(w) = decision::plan(&pod, "dev", &cfg) else {
        panic!("not planned")
    };
    let Decision::Inject(m) = decision::decide(&pod, &w, &Resolved::new(), &cfg) else {
        panic!("not injected")
    };
    let p = patch(&pod, &m);
    let mut doc = pod_json;
    json_patch::patch(&mut doc, &p).expect("the patch applies");
    doc
}

#[test]
fn missing_parents_are_added_whole() {
    let doc = apply(
        json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a", "image": "x", "command": ["/a"]}]}}),
    );
    let c = &doc["spec"]["containers"][0];
    assert_eq!(c["command"], json!(["/respawn/respawn"]));
    assert_eq!(c["args"], json!(["--", "/a"]));
    assert_eq!(
        c["volumeMounts"],
        json!([{"name": "respawn", "mountPath": "/respawn", "readOnly": true}])
    );
    assert_eq!(
        doc["spec"]["volumes"],
        json!([{"name": "respawn", "emptyDir": {"sizeLimit": "16Mi"}}])
    );
    let init = &doc["spec"]["initContainers"][0];
    assert_eq!(init["name"], "respawn-install");
    assert_eq!(
        init["command"],
        json!(["/respawn", "install", "/respawn-vol/respawn"])
    );
    assert_eq!(init["securityContext"]["capabilities"]["drop"], json!(["ALL"]));
    assert!(
        init.get("resources").is_none(),
        "a BestEffort pod stays BestEffort"
    );
    assert_eq!(doc["metadata"]["annotations"]["respawn.dev/status"], "injected");
}

#[test]
fn existing_lists_are_appended_to_and_init_goes_first() {
    let doc = apply(json!({
        "metadata": {"annotations": {"a/b~c": "x"}},
        "spec": {
            "volumes": [{"name": "data", "emptyDir": {}}],
            "initContainers": [{"name": "sidecar", "image": "s", "restartPolicy": "Always",
                "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}, "requests": {"cpu": "0.1", "memory": "64Mi"}}}],
            "containers": [{"name": "a", "image": "x", "command": ["/a"],
                "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                "env": [{"name": "A", "value": "1"}],
                "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}}]
        }
    }));
    let spec = &doc["spec"];
    assert_eq!(spec["initContainers"][0]["name"], "respawn-install");
    assert_eq!(
        spec["initContainers"][1]["name"], "sidecar",
        "the native sidecar is untouched, after ours"
    );
    assert_eq!(spec["volumes"][1]["name"], "respawn");
    assert_eq!(spec["containers"][0]["volumeMounts"][1]["mountPath"], "/respawn");
    assert_eq!(doc["metadata"]["annotations"]["a/b~c"], "x");
    assert_eq!(doc["metadata"]["annotations"]["respawn.dev/status"], "injected");
    let r = &spec["initContainers"][0]["resources"];
    assert_eq!(r["requests"], r["limits"], "a Guaranteed pod stays Guaranteed");
}

#[test]
fn image_volume_delivery_mounts_the_image() {
    let doc = apply(
        json!({"metadata": {"annotations": {"respawn.dev/delivery": "image-volume"}},
        "spec": {"containers": [{"name": "a", "image": "x", "command": ["/a"]}]}}),
    );
    assert!(doc["spec"].get("initContainers").is_none());
    assert_eq!(
        doc["spec"]["volumes"],
        json!([{"name": "respawn", "image": {"reference": "sup:1", "pullPolicy": "IfNotPresent"}}])
    );
}

#[test]
fn rewritten_probes_keep_every_other_field_and_readiness_is_untouched() {
    let readiness = json!({"httpGet": {"port": 8080, "path": "/ready"}, "periodSeconds": 2});
    let doc = apply(json!({
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "a", "image": "x", "command": ["/a"],
            "ports": [{"name": "http", "containerPort": 8080}],
            "env": [{"name": "A", "value": "1"}],
            "livenessProbe": {"httpGet": {"port": "http", "path": "/healthz", "scheme": "HTTP"},
                "initialDelaySeconds": 3, "periodSeconds": 4, "timeoutSeconds": 5, "successThreshold": 1,
                "failureThreshold": 6, "terminationGracePeriodSeconds": 7},
            "startupProbe": {"tcpSocket": {"port": 8080}, "failureThreshold": 30, "periodSeconds": 1},
            "readinessProbe": readiness.clone()}]}
    }));
    let c = &doc["spec"]["containers"][0];
    assert_eq!(
        c["livenessProbe"],
        json!({"exec": {"command": ["/respawn/respawn", "probe", "--grace", "24s", "--timeout", "5s",
                "--http-get", "8080", "--path", "/healthz"]},
            "initialDelaySeconds": 3, "periodSeconds": 4, "timeoutSeconds": 5, "successThreshold": 1,
            "failureThreshold": 6, "terminationGracePeriodSeconds": 7}),
        "the handler is replaced, nothing else"
    );
    assert_eq!(
        c["startupProbe"],
        json!({"exec": {"command": ["/respawn/respawn", "probe", "--grace", "30s", "--timeout", "1s",
                "--tcp-socket", "8080"]}, "failureThreshold": 30, "periodSeconds": 1})
    );
    assert_eq!(c["readinessProbe"], readiness);
    assert_eq!(
        c["env"],
        json!([{"name": "A", "value": "1"},
            {"name": "RESPAWN_POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}])
    );
    let recorded: Value = serde_json::from_str(
        doc["metadata"]["annotations"]["respawn.dev/original-probes"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(recorded["a"]["livenessProbe"]["httpGet"]["port"], "http");
    assert_eq!(recorded["a"]["startupProbe"]["tcpSocket"]["port"], 8080);
    // The probe as the pod will run it parses with the supervisor's own grammar.
    let cmd: Vec<std::ffi::OsString> = c["livenessProbe"]["exec"]["command"]
        .as_array()
        .unwrap()
        .iter()
        .skip(2)
        .map(|w| w.as_str().unwrap().into())
        .collect();
    assert!(respawn_settings::probe(&cmd).is_ok());
}

#[test]
fn a_pod_without_probes_gets_no_probe_annotation_or_variable() {
    let doc = apply(
        json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a", "image": "x",
        "command": ["/a"], "livenessProbe": {"exec": {"command": ["/ok"]}}}, {"name": "b", "image": "x", "command": ["/b"]}]}}),
    );
    let recorded = doc["metadata"]["annotations"]["respawn.dev/original-probes"]
        .as_str()
        .unwrap();
    assert_eq!(
        recorded,
        r#"{"a":{"livenessProbe":{"exec":{"command":["/ok"]}}}}"#
    );
    assert!(
        doc["spec"]["containers"][0].get("env").is_none(),
        "an exec check needs no address"
    );
    let doc = apply(
        json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a", "image": "x", "command": ["/a"]}]}}),
    );
    assert!(
        doc["metadata"]["annotations"]
            .get("respawn.dev/original-probes")
            .is_none()
    );
}
