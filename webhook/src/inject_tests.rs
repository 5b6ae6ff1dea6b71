//! `inject`'s unit tests: names, the init container, the original-argv annotation.

use super::*;

use serde_json::{Value, json};

fn json_of(f: impl FnOnce(&mut Vec<u8>)) -> Value {
    let mut out = Vec::new();
    f(&mut out);
    serde_json::from_slice(&out).expect("valid JSON")
}

#[test]
fn original_argv_is_the_argv_object_as_a_json_string() {
    let web = Container {
        name: "we\"b".into(),
        args: Some(vec!["--x=\"a\\b\"\n".into(), "$(PORT)".into()]),
        ..Default::default()
    };
    let side = Container {
        name: "a-side".into(),
        command: Some(vec!["/bin/s\u{e9}".into()]),
        ..Default::default()
    };
    let img = ImageConfig {
        entrypoint: Some(vec!["/e p".into()]),
        cmd: Some(vec!["c\u{1}".into()]),
        digest: Some("sha256:ab".into()),
        ..Default::default()
    };
    let mut out = Vec::new();
    let web_entry = Original {
        container: &web,
        source: Source::ImageEntrypoint,
        image: Some(&img),
    };
    let side_entry = Original {
        container: &side,
        source: Source::Pod,
        image: None,
    };
    original_argv(&mut out, &mut [web_entry, side_entry]);
    let text: String = serde_json::from_slice(&out).expect("a JSON string");
    let v: Value = serde_json::from_str(&text).expect("JSON text inside");
    assert_eq!(
        v,
        json!({
            "a-side": {"args": null, "command": ["/bin/s\u{e9}"], "source": "pod"},
            "we\"b": {"args": ["--x=\"a\\b\"\n", "$(PORT)"], "cmd": ["c\u{1}"], "command": null,
                      "digest": "sha256:ab", "entrypoint": ["/e p"], "source": "imageEntrypoint"}
        })
    );
    // Sorted containers and keys: the text is what serde writes for the same value.
    assert_eq!(text, serde_json::to_string(&v).unwrap());
}

#[test]
fn names_avoid_collisions() {
    let taken = |n: &str| ["respawn", "respawn-1", "x"].contains(&n);
    assert_eq!(free_name("respawn", taken), "respawn-2");
    assert_eq!(free_name("respawn-install", taken), "respawn-install");
}

#[test]
fn init_container_is_restricted() {
    let c = json_of(|o| init_container(o, "respawn-install", "respawn", "reg/\"sup\":1", "Always"));
    let sc = &c["securityContext"];
    assert_eq!(sc["runAsNonRoot"], true);
    assert_eq!(sc["runAsUser"], INSTALL_UID);
    assert_eq!(sc["runAsGroup"], INSTALL_UID);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]));
    assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault");
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(
        c["command"],
        json!([IMAGE_BINARY, "install", format!("{INSTALL_MOUNT_PATH}/respawn")])
    );
    assert_eq!(
        c["volumeMounts"],
        json!([
            {"name": "respawn", "mountPath": INSTALL_MOUNT_PATH},
            {"name": "respawn", "mountPath": TOKEN_MOUNT_PATH, "readOnly": true},
        ]),
        "the installer must shadow the token path (no token, no reinvocation)"
    );
    // It must deserialize as a real Container, every field known to Kubernetes.
    let typed: k8s_openapi::api::core::v1::Container = serde_json::from_value(c.clone()).unwrap();
    assert_eq!(typed.image.as_deref(), Some("reg/\"sup\":1"));
    assert_eq!(serde_json::to_value(&typed).unwrap(), c);
}

fn ops(b: PatchWriter) -> Value {
    serde_json::from_slice(b.finish().json()).expect("a JSON patch")
}

#[test]
fn the_cached_init_operation_is_the_rendered_one_and_follows_the_configuration() {
    let mut cfg = Injection::for_tests("reg/sup:1");
    let default = Names {
        volume: VOLUME_NAME.into(),
        init: INIT_NAME.into(),
    };
    for present in [false, true] {
        let cached = ops(start_patch(&cfg, &default, present));
        let mut fresh = PatchWriter::default();
        fresh.add(init_path(present), |o| init_value(o, present, &default, &cfg));
        assert_eq!(cached, ops(fresh));
    }
    assert!(cfg.rendered.get().is_some(), "default names use the cache");
    cfg.supervisor_image = "reg/sup:2".into();
    cfg.supervisor_pull_policy = "Always".into();
    let after = ops(start_patch(&cfg, &default, false));
    assert_eq!(after[0]["value"][0]["image"], "reg/sup:2");
    assert_eq!(after[0]["value"][0]["imagePullPolicy"], "Always");
    let renamed = Names {
        volume: "respawn-1".into(),
        init: "respawn-install-1".into(),
    };
    let other = ops(start_patch(&cfg, &renamed, true));
    assert_eq!(other[0]["path"], "/spec/initContainers/0");
    assert_eq!(other[0]["value"]["name"], "respawn-install-1");
    assert_eq!(other[0]["value"]["volumeMounts"][0]["name"], "respawn-1");
}

#[test]
fn volume_and_mount() {
    let v = json_of(|o| volume(o, "respawn-1"));
    assert_eq!(v, json!({"name": "respawn-1", "emptyDir": {"sizeLimit": "16Mi"}}));
    let typed: k8s_openapi::api::core::v1::Volume = serde_json::from_value(v).unwrap();
    assert!(typed.empty_dir.is_some());
    assert_eq!(
        json_of(|o| mount(o, "respawn-1")),
        json!({"name": "respawn-1", "mountPath": MOUNT_PATH, "readOnly": true})
    );
}
