//! Table tests of kubelet-compatible pull-secret matching.

use super::*;
use k8s_openapi::ByteString;

fn cred(u: &str, p: &str) -> Credential {
    Credential {
        username: u.into(),
        password: p.into(),
    }
}

fn ring(json: &str) -> Keyring {
    Keyring::parse(json.as_bytes(), true).unwrap()
}

#[test]
fn auth_field_wins_and_decodes() {
    // "alice:s3:cret" — the password may itself contain ':'.
    let k = ring(
        r#"{"auths":{"reg.example:5000":{"username":"x","password":"y","auth":"YWxpY2U6czM6Y3JldA=="}}}"#,
    );
    assert_eq!(k.lookup("reg.example:5000/app"), vec![cred("alice", "s3:cret")]);
}

#[test]
fn username_password_without_auth() {
    let k = ring(r#"{"auths":{"https://reg.example/v2/":{"username":"u","password":"p"}}}"#);
    assert_eq!(k.lookup("reg.example/team/app"), vec![cred("u", "p")]);
}

#[test]
fn bad_auth_field_is_an_error() {
    assert!(Keyring::parse(br#"{"auths":{"r":{"auth":"%%%"}}}"#, true).is_err());
    assert!(Keyring::parse(br#"{"auths":{"r":{"auth":"bm9jb2xvbg=="}}}"#, true).is_err());
    assert!(Keyring::parse(b"not json", true).is_err());
}

#[test]
fn port_must_match_exactly() {
    let k = ring(r#"{"auths":{"reg.example:5000":{"username":"u","password":"p"}}}"#);
    assert!(k.lookup("reg.example/app").is_empty());
    assert!(k.lookup("reg.example:5001/app").is_empty());
    let k = ring(r#"{"auths":{"reg.example":{"username":"u","password":"p"}}}"#);
    assert!(k.lookup("reg.example:5000/app").is_empty());
}

#[test]
fn globs_match_one_label_each() {
    let k = ring(r#"{"auths":{"*.example.com":{"username":"u","password":"p"}}}"#);
    assert_eq!(k.lookup("eu.example.com/app").len(), 1);
    assert!(k.lookup("a.eu.example.com/app").is_empty());
    assert!(k.lookup("example.com/app").is_empty());
    assert!(glob_match("r?g*", "registry"));
    assert!(!glob_match("r?g", "registry"));
}

#[test]
fn path_prefix_and_specific_first() {
    let k = ring(
        r#"{"auths":{"reg.example":{"username":"host","password":"p"},
                     "reg.example/team":{"username":"team","password":"p"}}}"#,
    );
    let users: Vec<_> = k
        .lookup("reg.example/team/app")
        .into_iter()
        .map(|c| c.username)
        .collect();
    assert_eq!(users, ["team", "host"]);
    let users: Vec<_> = k
        .lookup("reg.example/other/app")
        .into_iter()
        .map(|c| c.username)
        .collect();
    assert_eq!(users, ["host"]);
}

#[test]
fn docker_hub_fallback_to_index_key() {
    let k = ring(r#"{"auths":{"https://index.docker.io/v1/":{"username":"hub","password":"p"}}}"#);
    assert_eq!(k.lookup("docker.io/library/busybox").len(), 1);
    assert!(k.lookup("reg.example/library/busybox").is_empty());
    let k = ring(r#"{"auths":{"docker.io":{"username":"hub","password":"p"}}}"#);
    assert_eq!(k.lookup("docker.io/library/busybox").len(), 1);
}

#[test]
fn legacy_dockercfg_and_secret_types() {
    let legacy = br#"{"reg.example":{"auth":"dTpw"}}"#; // u:p
    let secret = |ty: &str, key: &str| Secret {
        metadata: kube::api::ObjectMeta {
            name: Some("s".into()),
            ..Default::default()
        },
        type_: Some(ty.into()),
        data: Some([(key.to_string(), ByteString(legacy.to_vec()))].into()),
        ..Default::default()
    };
    let k = Keyring::from_secret(&secret(DOCKER_CFG, ".dockercfg")).unwrap();
    assert_eq!(k.lookup("reg.example/app"), vec![cred("u", "p")]);
    // Opaque secrets are ignored, as the kubelet does.
    assert!(
        Keyring::from_secret(&secret("Opaque", ".dockercfg"))
            .unwrap()
            .is_empty()
    );
    // A dockerconfigjson secret without "auths" holds no credentials.
    assert!(
        Keyring::from_secret(&secret(DOCKER_CONFIG_JSON, ".dockerconfigjson")).is_ok_and(|k| k.is_empty())
    );
}

#[test]
fn debug_redacts_password() {
    assert!(!format!("{:?}", cred("u", "hunter2")).contains("hunter2"));
}
