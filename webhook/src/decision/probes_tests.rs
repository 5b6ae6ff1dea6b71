//! Probe rewrites as data: which probes become `respawn probe`, with which words, what stays as
//! it is and the warning that says so.

use serde_json::json;

use super::*;

/// The decided wrap of the pod's only container and the mutation's warnings and annotations.
fn wrap_of(containers: serde_json::Value, annotations: serde_json::Value) -> (Wrap, Mutation) {
    let p = pod(json!({"metadata": {"annotations": annotations}, "spec": {"containers": containers}}));
    let c = cfg();
    let m = injected(decide(&p, &planned(&p, &c), &Resolved::new(), &c));
    (m.containers[0].clone(), m)
}

fn app(extra: serde_json::Value) -> serde_json::Value {
    let mut c = json!({"name": "app", "image": "x", "command": ["/app"],
        "ports": [{"name": "http", "containerPort": 8080}, {"name": "admin", "containerPort": 9000}]});
    c.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    json!([c])
}

fn words(r: &ProbeRewrite) -> Vec<&str> {
    r.command.iter().map(String::as_str).collect()
}

#[test]
fn liveness_and_startup_carry_their_check_readiness_stays() {
    let (w, m) = wrap_of(
        app(json!({
            "livenessProbe": {"httpGet": {"port": "http", "path": "/healthz?x=$(HOME)", "scheme": "HTTP",
                "httpHeaders": [{"name": "X-Token", "value": "a$b"}]},
                "periodSeconds": 5, "failureThreshold": 4, "timeoutSeconds": 2},
            "startupProbe": {"exec": {"command": ["/bin/check", "$(PORT)"]}},
            "readinessProbe": {"httpGet": {"port": 8080}},
        })),
        json!({}),
    );
    assert_eq!(w.probes.len(), 2, "readiness is not rewritten: {:?}", w.probes);
    assert_eq!(w.probes[0].field, ProbeField::Liveness);
    assert_eq!(
        words(&w.probes[0]),
        [
            "/respawn/respawn",
            "probe",
            "--grace",
            "20s",
            "--timeout",
            "2s",
            "--http-get",
            "8080",
            "--path",
            "/healthz?x=$$(HOME)",
            "--header",
            "X-Token: a$$b",
        ],
        "named port resolved, grace = failureThreshold × periodSeconds, `$` doubled for the kubelet"
    );
    assert_eq!(w.probes[1].field, ProbeField::Startup);
    assert_eq!(
        words(&w.probes[1]),
        [
            "/respawn/respawn",
            "probe",
            "--grace",
            "30s",
            "--timeout",
            "1s",
            "--exec",
            "--",
            "/bin/check",
            "$(PORT)"
        ],
        "kubelet defaults 3 × 10s and 1s; an exec check's words keep their $(VAR) expansion"
    );
    assert!(w.pod_ip, "a network check needs RESPAWN_POD_IP");
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    let (_, recorded) = m
        .annotations
        .iter()
        .find(|(k, _)| k == annotations::ORIGINAL_PROBES)
        .expect("the original probes are recorded");
    let recorded: serde_json::Value = serde_json::from_str(recorded).unwrap();
    assert_eq!(recorded["app"]["livenessProbe"]["httpGet"]["port"], "http");
    assert_eq!(
        recorded["app"]["startupProbe"]["exec"]["command"][0],
        "/bin/check"
    );
    assert!(recorded["app"].get("readinessProbe").is_none());
}

#[test]
fn tcp_and_numeric_ports_and_the_grace_annotation() {
    let (w, _) = wrap_of(
        app(
            json!({"livenessProbe": {"tcpSocket": {"port": "9000"}, "periodSeconds": 1, "failureThreshold": 1}}),
        ),
        json!({"respawn.dev/probe-grace": "2m"}),
    );
    assert_eq!(
        words(&w.probes[0]),
        [
            "/respawn/respawn",
            "probe",
            "--grace",
            "120s",
            "--timeout",
            "1s",
            "--tcp-socket",
            "9000"
        ],
        "a number written as a string is a port, as for the kubelet; the annotation sets the grace"
    );
    let (w, _) = wrap_of(
        app(json!({"livenessProbe": {"exec": {"command": ["true"]}}})),
        json!({}),
    );
    assert!(!w.pod_ip, "an exec check needs no address");
    let (w, m) = wrap_of(
        app(
            json!({"livenessProbe": {"tcpSocket": {"port": 80}}, "env": [{"name": "RESPAWN_POD_IP", "value": "10.9.9.9"}]}),
        ),
        json!({}),
    );
    assert!(!w.pod_ip, "the container's own RESPAWN_POD_IP is kept");
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
}

#[test]
fn checks_respawn_cannot_make_stay_with_a_warning_naming_them() {
    for (probe, why) in [
        (
            json!({"httpGet": {"port": 8443, "scheme": "HTTPS"}}),
            "scheme HTTPS: respawn probe speaks plain HTTP only",
        ),
        (json!({"grpc": {"port": 9000}}), "a grpc check"),
        (
            json!({"httpGet": {"port": "metrics"}}),
            "port \"metrics\" names no port of the container",
        ),
        (
            json!({"tcpSocket": {"port": 70000}}),
            "port 70000 is not a port number",
        ),
        (
            json!({"httpGet": {"port": 80, "host": "10.0.0.1"}}),
            "host \"10.0.0.1\" is set",
        ),
        (
            json!({"httpGet": {"port": 80, "httpHeaders": [{"name": "X", "value": "a\r\nY: b"}]}}),
            "respawn probe refuses it",
        ),
    ] {
        let (w, m) = wrap_of(app(json!({"livenessProbe": probe.clone()})), json!({}));
        assert!(w.probes.is_empty(), "{probe}");
        assert!(!w.pod_ip);
        assert_eq!(m.warnings.len(), 1, "{probe}: {:?}", m.warnings);
        let warning = &m.warnings[0];
        assert!(
            warning.starts_with("respawn: container \"app\": livenessProbe left as is (")
                && warning.contains(why),
            "{probe}: {warning}"
        );
        assert!(
            !m.annotations
                .iter()
                .any(|(k, _)| k == annotations::ORIGINAL_PROBES),
            "nothing rewritten, nothing recorded"
        );
    }
}

#[test]
fn keep_and_unwrapped_containers_leave_probes_alone() {
    let probe = json!({"livenessProbe": {"httpGet": {"port": 8443, "scheme": "HTTPS"}}});
    let (w, m) = wrap_of(app(probe.clone()), json!({"respawn.dev/probes": "keep"}));
    assert!(w.probes.is_empty() && !w.pod_ip);
    assert!(m.warnings.is_empty(), "keep: no warning either: {:?}", m.warnings);
    let mut two = app(json!({"livenessProbe": {"tcpSocket": {"port": 80}}}));
    two.as_array_mut()
        .unwrap()
        .push(json!({"name": "side", "image": "y", "command": ["/side"],
        "livenessProbe": {"tcpSocket": {"port": 81}}}));
    let (_, m) = wrap_of(two, json!({"respawn.dev/containers": "side"}));
    assert_eq!(m.containers.len(), 1);
    assert_eq!(m.containers[0].name, "side");
    assert_eq!(words(&m.containers[0].probes[0])[6..], ["--tcp-socket", "81"]);
}
