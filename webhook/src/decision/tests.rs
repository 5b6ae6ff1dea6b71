//! The decision as data: plans and mutations for pods built from JSON, without a socket.

use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::images::{ImageConfig, LookupError, Resolved, lookup};

fn pod(v: serde_json::Value) -> Pod {
    serde_json::from_value(v).expect("a pod")
}

fn cfg() -> Injection {
    Injection::with_image("reg.local/respawn-supervisor:1")
}

fn image(entrypoint: &[&str], cmd: &[&str]) -> Arc<ImageConfig> {
    let own = |v: &[&str]| (!v.is_empty()).then(|| v.iter().map(|s| s.to_string()).collect());
    Arc::new(ImageConfig {
        entrypoint: own(entrypoint),
        cmd: own(cmd),
        digest: Some("sha256:d".into()),
        ..Default::default()
    })
}

fn planned(p: &Pod, cfg: &Injection) -> WrapPlan {
    match plan(p, "dev", cfg) {
        Plan::Lookup(w) => *w,
        Plan::Done(d) => panic!("not planned: {d:?}"),
    }
}

fn injected(d: Decision) -> Mutation {
    match d {
        Decision::Inject(m) => *m,
        other => panic!("not injected: {other:?}"),
    }
}

fn resolved(entries: &[(&str, &str, crate::images::Lookup)]) -> Resolved {
    entries
        .iter()
        .map(|(i, p, r)| (lookup::key(i, &p.parse().unwrap()), r.clone()))
        .collect()
}

#[test]
fn skips_say_why() {
    let c = cfg();
    let base = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a", "image": "x"}]}});
    let reason = |p: serde_json::Value, ns: &str| match plan(&pod(p), ns, &c) {
        Plan::Done(Decision::Skip { reason, .. }) => Some(reason),
        _ => None,
    };
    assert_eq!(
        reason(base.clone(), "kube-system"),
        Some(SkipReason::ExcludedNamespace)
    );
    let mut off = base.clone();
    off["metadata"]["labels"] = json!({"respawn.dev/inject": "disabled"});
    assert_eq!(reason(off, "dev"), Some(SkipReason::Disabled));
    let mut done = base.clone();
    done["metadata"]["annotations"] = json!({"respawn.dev/status": "injected"});
    assert_eq!(reason(done, "dev"), Some(SkipReason::AlreadyInjected));
    // The label the chart's objectSelector skips by counts too, whatever its value, so offline
    // injection and a configuration without that selector agree with the chart.
    let mut labelled = base.clone();
    labelled["metadata"]["labels"] = json!({"respawn.dev/injected": "yes"});
    assert_eq!(reason(labelled, "dev"), Some(SkipReason::AlreadyInjected));
    let mut win = base.clone();
    win["spec"]["nodeSelector"] = json!({"kubernetes.io/os": "windows"});
    assert_eq!(reason(win, "dev"), Some(SkipReason::Windows));
    let mut wrapped = base.clone();
    wrapped["spec"]["containers"][0]["command"] = json!(["/respawn/respawn", "--", "x"]);
    assert_eq!(reason(wrapped, "dev"), Some(SkipReason::NoContainers));
    assert_eq!(reason(base, "dev"), None);
}

#[test]
fn pod_command_needs_no_lookup_and_is_copied_verbatim() {
    let p = pod(json!({"spec": {"containers": [
        {"name": "a", "image": "x", "command": ["/app", "$(PORT)"], "args": ["--x"]}
    ]}}));
    let w = planned(&p, &cfg());
    assert!(w.wanted().is_empty());
    let m = injected(decide(&p, &w, &Resolved::new(), &cfg()));
    assert_eq!(m.containers[0].args, ["--", "/app", "$(PORT)", "--x"]);
    assert_eq!(m.volume.name, VOLUME_NAME);
    assert_eq!(m.install.as_ref().unwrap().name, INIT_NAME);
    assert_eq!(
        m.annotations[0],
        ("respawn.dev/status".to_string(), "injected".to_string())
    );
    assert_eq!(
        m.labels,
        [("respawn.dev/injected".to_string(), "true".to_string())]
    );
    let original: serde_json::Value = serde_json::from_str(&m.annotations[1].1).unwrap();
    assert_eq!(original["a"]["source"], "pod");
}

#[test]
fn image_strings_are_escaped_and_lookup_failures_follow_the_policy() {
    let p = pod(json!({"spec": {"containers": [{"name": "a", "image": "img"}]}}));
    let c = cfg();
    let w = planned(&p, &c);
    assert_eq!(w.wanted(), vec![("img".to_string(), Platform::default())]);
    let ok = resolved(&[("img", "linux/amd64", Ok(image(&["/ep", "$HOME"], &["$(X)"])))]);
    let m = injected(decide(&p, &w, &ok, &c));
    assert_eq!(m.containers[0].args, ["--", "/ep", "$$HOME", "$$(X)"]);
    let gone = Err(LookupError::NotFound {
        image: "img".into(),
        reason: "manifest unknown".into(),
    });
    let failed = resolved(&[("img", "linux/amd64", gone)]);
    match decide(&p, &w, &failed, &c) {
        Decision::Skip { reason, warnings } => {
            assert_eq!(reason, SkipReason::LookupFailed);
            assert!(
                warnings[0].contains("\"a\"") && warnings[0].contains("img"),
                "{warnings:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    let mut deny = w.clone();
    deny.policy = FailurePolicy::Deny;
    assert!(matches!(decide(&p, &deny, &failed, &c), Decision::Deny { .. }));
}

#[test]
fn lookups_past_the_cap_are_named_and_follow_the_policy() {
    let containers: Vec<_> = (0..5)
        .map(|i| json!({"name": format!("c{i}"), "image": format!("img{i}")}))
        .collect();
    let p = pod(json!({"spec": {"containers": containers}}));
    let mut c = cfg();
    c.max_image_lookups = 3;
    let w = planned(&p, &c);
    assert_eq!(w.images, ["img0", "img1", "img2"]);
    assert_eq!(w.over_cap, ["img3", "img4"]);
    let all: Vec<_> = (0..3)
        .map(|i| (format!("img{i}"), "linux/amd64", Ok(image(&["/a"], &[]))))
        .collect();
    let all: Vec<(&str, &str, _)> = all.iter().map(|(i, p, r)| (i.as_str(), *p, r.clone())).collect();
    let Decision::Skip { warnings, .. } = decide(&p, &w, &resolved(&all), &c) else {
        panic!()
    };
    assert!(
        warnings[0].contains("img3, img4") && warnings[0].contains("--max-image-lookups"),
        "{warnings:?}"
    );
}

#[test]
fn differing_platform_argv_goes_to_the_supervisor_and_a_pinned_pod_looks_up_one() {
    let mut c = cfg();
    c.supervisor_platforms = vec!["linux/amd64".parse().unwrap(), "linux/arm64".parse().unwrap()];
    let p = pod(json!({"spec": {"containers": [{"name": "a", "image": "multi"}]}}));
    let w = planned(&p, &c);
    assert_eq!(w.alternates, vec!["linux/arm64".parse::<Platform>().unwrap()]);
    assert_eq!(w.wanted().len(), 2);
    let differ = resolved(&[
        ("multi", "linux/amd64", Ok(image(&["/amd"], &["$x"]))),
        ("multi", "linux/arm64", Ok(image(&["/arm"], &["a", "b"]))),
    ]);
    let m = injected(decide(&p, &w, &differ, &c));
    assert_eq!(
        m.containers[0].args,
        [
            "--argv-for",
            "linux/arm64",
            "3",
            "/arm",
            "a",
            "b",
            "--",
            "/amd",
            "$$x"
        ]
    );
    let original: serde_json::Value = serde_json::from_str(&m.annotations[1].1).unwrap();
    assert_eq!(
        original["a"]["platforms"]["linux/arm64"]["entrypoint"],
        json!(["/arm"])
    );
    // The same argv everywhere (the common case): nothing changes.
    let same = resolved(&[
        ("multi", "linux/amd64", Ok(image(&["/app"], &[]))),
        ("multi", "linux/arm64", Ok(image(&["/app"], &[]))),
    ]);
    assert_eq!(
        injected(decide(&p, &w, &same, &c)).containers[0].args,
        ["--", "/app"]
    );
    // An amd64-only image: the arm64 entry is missing, silently.
    let missing = resolved(&[
        ("multi", "linux/amd64", Ok(image(&["/app"], &[]))),
        (
            "multi",
            "linux/arm64",
            Err(LookupError::PlatformMissing {
                image: "multi".into(),
                wanted: "linux/arm64".into(),
                available: "linux/amd64".into(),
            }),
        ),
    ]);
    let m = injected(decide(&p, &w, &missing, &c));
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    // Pinned by nodeSelector to arm64: only arm64 is looked up, and it is the argv after `--`.
    let pinned = pod(json!({"spec": {"nodeSelector": {"kubernetes.io/arch": "arm64"},
        "containers": [{"name": "a", "image": "multi"}]}}));
    let w = planned(&pinned, &c);
    assert_eq!(
        w.wanted(),
        vec![("multi".to_string(), "linux/arm64".parse().unwrap())]
    );
    assert_eq!(
        injected(decide(&pinned, &w, &differ, &c)).containers[0].args,
        ["--", "/arm", "a", "b"]
    );
}

#[test]
fn required_node_affinity_pins_the_architecture() {
    let affinity = |values: serde_json::Value| {
        pod(
            json!({"spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
            {"nodeSelectorTerms": [{"matchExpressions": [{"key": "kubernetes.io/arch", "operator": "In", "values": values}]}]}}},
            "containers": [{"name": "a", "image": "x"}]}}),
        )
    };
    let d = Platform::default();
    let (p, pinned) = platform_of(affinity(json!(["arm64"])).spec.as_ref().unwrap(), &d);
    assert_eq!((p.architecture.as_str(), pinned), ("arm64", true));
    let (p, pinned) = platform_of(affinity(json!(["arm64", "amd64"])).spec.as_ref().unwrap(), &d);
    assert_eq!((p.architecture.as_str(), pinned), ("amd64", false));
}

#[test]
fn names_settings_and_delivery() {
    let p = pod(json!({
        "metadata": {"annotations": {"respawn.dev/on-exit": "wait", "respawn.dev/delivery": "image-volume"}},
        "spec": {
            "volumes": [{"name": "respawn", "emptyDir": {}}],
            "initContainers": [{"name": "respawn-install-x", "image": "i"}],
            "containers": [
                {"name": "respawn-install", "image": "x", "command": ["/a"], "env": [{"name": "RESPAWN_ON_EXIT", "value": "exit"}]},
                {"name": "b", "image": "y", "command": ["/b"]}
            ]
        }
    }));
    let c = cfg();
    let w = planned(&p, &c);
    assert_eq!(w.delivery, Delivery::ImageVolume);
    let m = injected(decide(&p, &w, &Resolved::new(), &c));
    assert_eq!(m.volume.name, "respawn-1");
    assert!(m.install.is_none(), "image volumes need no init container");
    assert_eq!(
        m.volume.source,
        VolumeSource::Image {
            reference: c.supervisor_image.clone(),
            pull_policy: "IfNotPresent".into()
        }
    );
    assert!(m.containers[0].env.is_empty(), "the container's own value wins");
    assert!(
        m.warnings
            .iter()
            .any(|w| w.contains("already sets RESPAWN_ON_EXIT")),
        "{:?}",
        m.warnings
    );
    assert_eq!(
        m.containers[1].env,
        [("RESPAWN_ON_EXIT".to_string(), "wait".to_string())]
    );
    // A cluster without image volumes: init-container delivery and a warning.
    let mut old = c.clone();
    old.image_volumes = false;
    let w = planned(&p, &old);
    assert_eq!(w.delivery, Delivery::InitContainer);
    let m = injected(decide(&p, &w, &Resolved::new(), &old));
    assert_eq!(m.install.as_ref().unwrap().name, "respawn-install-1");
    assert!(m.warnings.iter().any(|w| w.contains("image volumes")));
}

#[path = "probes_tests.rs"]
mod probes;

#[test]
fn kubectl_default_container_named_only_when_an_init_container_is_added_and_the_pod_names_none() {
    let default_of = |m: &Mutation| {
        m.annotations
            .iter()
            .find(|(k, _)| k == "kubectl.kubernetes.io/default-container")
            .map(|(_, v)| v.clone())
    };
    let two = |annotations: serde_json::Value| {
        pod(
            json!({"metadata": {"annotations": annotations}, "spec": {"containers": [
                {"name": "web", "image": "x", "command": ["/web"]},
                {"name": "side", "image": "y", "command": ["/side"]}
            ]}}),
        )
    };
    let c = cfg();
    let p = two(json!({}));
    let m = injected(decide(&p, &planned(&p, &c), &Resolved::new(), &c));
    assert_eq!(
        default_of(&m).as_deref(),
        Some("web"),
        "kubectl's own default, named"
    );

    let p = two(json!({"kubectl.kubernetes.io/default-container": "side"}));
    let m = injected(decide(&p, &planned(&p, &c), &Resolved::new(), &c));
    assert_eq!(default_of(&m), None, "the pod's own choice stays");

    let p = two(json!({"respawn.dev/delivery": "image-volume"}));
    let m = injected(decide(&p, &planned(&p, &c), &Resolved::new(), &c));
    assert!(m.install.is_none());
    assert_eq!(
        default_of(&m),
        None,
        "no init container, nothing for kubectl to announce"
    );
}
