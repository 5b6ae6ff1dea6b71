//! Credentials against real registries on loopback: htpasswd Basic auth, a Bearer-token
//! registry (our own token server, the registry verifying its JWTs), and HTTPS with a custom CA.
//! Pull secrets come from a fake `CredentialSource` (the real API-server reads are proven in
//! the e2e suite); everything else is real.

mod registry_support;

use std::sync::{Arc, OnceLock};

use registry_support::token::{ISSUER, SERVICE, TokenServer};
use registry_support::*;
use respawn_webhook::images::registry::{CredentialSource, RegistryOptions};
use respawn_webhook::images::{ImageConfigProvider, LookupError, LookupRequest};

struct AuthStack {
    basic: Registry,
    token: Registry,
    _token_server: TokenServer,
    tls: Registry,
    ca_pem: String,
    _files: tempfile::TempDir,
}

/// The htpasswd, token and TLS registries of this test binary, started once.
fn stack() -> &'static AuthStack {
    static STACK: OnceLock<AuthStack> = OnceLock::new();
    STACK.get_or_init(|| {
        let (open, _) = open_registry();
        let creds = format!("{USER}:{PASSWORD}");
        // Basic auth, images pushed through it (test-images.sh --creds).
        let basic = Registry::start("start", &[&creds], None, &[]);
        push_images(&basic, Some(&creds));
        // Bearer tokens, serving the open registry's storage.
        let files = tempfile::tempdir().unwrap();
        let token_server = TokenServer::start(USER, PASSWORD);
        let cert = files.path().join("token-signer.pem");
        std::fs::write(&cert, &token_server.cert_pem).unwrap();
        let realm = token_server.realm();
        let token = Registry::start(
            "start-token",
            &[&realm, ISSUER, SERVICE, cert.to_str().unwrap()],
            Some(open),
            &[],
        );
        // HTTPS with a certificate of our own CA, same storage.
        let (ca_pem, cert_pem, key_pem) = tls_material();
        let (c, k) = (files.path().join("tls.crt"), files.path().join("tls.key"));
        std::fs::write(&c, cert_pem).unwrap();
        std::fs::write(&k, key_pem).unwrap();
        let tls = Registry::start(
            "start",
            &[],
            Some(open),
            &[
                ("REGISTRY_TLS_CERT", c.to_str().unwrap()),
                ("REGISTRY_TLS_KEY", k.to_str().unwrap()),
            ],
        );
        AuthStack {
            basic,
            token,
            _token_server: token_server,
            tls,
            ca_pem,
            _files: files,
        }
    })
}

/// (CA PEM, server certificate PEM for 127.0.0.1, server key PEM).
fn tls_material() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "respawn test CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    (ca_cert.pem(), server.pem(), key.serialize_pem())
}

/// Fake API objects: team-a holds the right secret, team-b a wrong one, team-c none;
/// sa-ns has a service account `builder` whose pull secret is right.
fn credentials(host: &str) -> Arc<FakeCredentials> {
    let f = FakeCredentials::default();
    f.add_secret(pull_secret("team-a", "pull", host, USER, PASSWORD));
    f.add_secret(pull_secret("team-b", "pull", host, USER, "wrong-password"));
    f.add_secret(pull_secret("team-d", "same-creds", host, USER, PASSWORD));
    f.add_secret(pull_secret("sa-ns", "sa-pull", host, USER, PASSWORD));
    f.add_secret(pull_secret("sa-ns", "bad", host, USER, "wrong-password"));
    f.add_secret(pull_secret("respawn-system", "global", host, USER, PASSWORD));
    f.add_service_account("sa-ns", "builder", &["sa-pull"]);
    Arc::new(f)
}

fn req(image: &str, namespace: &str, secrets: &[&str]) -> LookupRequest {
    let mut r = request(image, namespace);
    r.pull_secrets = secrets.iter().map(|s| s.to_string()).collect();
    r
}

fn assert_unauthorized(result: respawn_webhook::images::Lookup, what: &str) {
    match result {
        Err(LookupError::Unauthorized { image, .. }) => assert!(!image.is_empty()),
        other => panic!("{what}: expected Unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn basic_auth_right_wrong_and_absent_credentials() {
    let s = stack();
    let host = s.basic.host();
    let (p, _) = provider_with(insecure(std::slice::from_ref(&host)), Some(credentials(&host)));
    let image = s.basic.image("index");
    let c = p.image_config(&req(&image, "team-a", &["pull"])).await.unwrap();
    assert_eq!(c.cmd, Some(vec!["3600".to_string()]));
    assert_unauthorized(
        p.image_config(&req(&image, "team-b", &["pull"])).await,
        "wrong password",
    );
    assert_unauthorized(
        p.image_config(&req(&image, "team-c", &[])).await,
        "no credentials",
    );
    // A secret for another registry does not apply.
    let other = FakeCredentials::default();
    other.add_secret(pull_secret("team-a", "pull", "127.0.0.1:1", USER, PASSWORD));
    let (p, _) = provider_with(insecure(std::slice::from_ref(&host)), Some(Arc::new(other)));
    assert_unauthorized(
        p.image_config(&req(&image, "team-a", &["pull"])).await,
        "other registry's secret",
    );
}

#[tokio::test]
async fn service_account_pull_secrets_apply_after_the_pods() {
    let s = stack();
    let host = s.basic.host();
    let (p, _) = provider_with(insecure(std::slice::from_ref(&host)), Some(credentials(&host)));
    let image = s.basic.image("oci");
    let mut r = req(&image, "sa-ns", &[]);
    r.service_account = "builder".into();
    assert!(
        p.image_config(&r).await.is_ok(),
        "the service account's secret is used"
    );
    // A wrong pod secret first, then the service account's right one: the kubelet tries both.
    let mut r = req(&image, "sa-ns", &["bad"]);
    r.service_account = "builder".into();
    assert!(p.image_config(&r).await.is_ok());
    // The default service account has no pull secrets.
    assert_unauthorized(
        p.image_config(&req(&image, "sa-ns", &["bad"])).await,
        "only a wrong secret",
    );
    assert_unauthorized(
        p.image_config(&req(&image, "sa-ns", &[])).await,
        "default service account",
    );
}

#[tokio::test]
async fn a_namespace_never_gets_a_config_through_another_namespaces_credentials() {
    let s = stack();
    let host = s.basic.host();
    let creds = credentials(&host);
    let (p, metrics) = provider_with(insecure(std::slice::from_ref(&host)), Some(creds.clone()));
    let image = s.basic.image("docker");
    p.image_config(&req(&image, "team-a", &["pull"])).await.unwrap();
    // Cached now, but only for team-a's credentials: a pod in team-c naming a secret "pull"
    // (which exists only in team-a), or none, or team-b's wrong one, is refused.
    assert_unauthorized(
        p.image_config(&req(&image, "team-c", &["pull"])).await,
        "team-c naming team-a's secret",
    );
    assert_unauthorized(
        p.image_config(&req(&image, "team-c", &[])).await,
        "team-c anonymous",
    );
    assert_unauthorized(
        p.image_config(&req(&image, "team-b", &["pull"])).await,
        "team-b wrong password",
    );
    // One hit: the second anonymous lookup reused the first one's cached refusal (same,
    // anonymous scope); none was answered from team-a's entry.
    assert_eq!(metrics.cache_count("hit"), 1);
    // team-a again: a hit. team-d holds the very same credentials: it shares the entry.
    p.image_config(&req(&image, "team-a", &["pull"])).await.unwrap();
    p.image_config(&req(&image, "team-d", &["same-creds"]))
        .await
        .unwrap();
    assert_eq!(metrics.cache_count("hit"), 3);
}

#[tokio::test]
async fn global_pull_secret_applies_everywhere() {
    let s = stack();
    let host = s.basic.host();
    let opts = RegistryOptions {
        global_pull_secret: Some("respawn-system/global".into()),
        ..insecure(std::slice::from_ref(&host))
    };
    let (p, _) = provider_with(opts, Some(credentials(&host)));
    assert!(
        p.image_config(&req(&s.basic.image("cmd-only"), "team-c", &[]))
            .await
            .is_ok()
    );
    assert!(
        RegistryOptions {
            global_pull_secret: Some("no-slash".into()),
            ..Default::default()
        }
        .global_secret()
        .is_err()
    );
}

#[tokio::test]
async fn bearer_token_registry() {
    let s = stack();
    let host = s.token.host();
    let creds: Arc<dyn CredentialSource> = credentials(&host);
    let (p, _) = provider_with(insecure(std::slice::from_ref(&host)), Some(creds));
    let image = s.token.image("manifest-list");
    let c = p.image_config(&req(&image, "team-a", &["pull"])).await.unwrap();
    assert_eq!(
        c.entrypoint,
        Some(vec!["/bin/busybox".to_string(), "sleep".to_string()])
    );
    assert_unauthorized(
        p.image_config(&req(&image, "team-b", &["pull"])).await,
        "token: wrong password",
    );
    assert_unauthorized(
        p.image_config(&req(&image, "team-c", &[])).await,
        "token: anonymous",
    );
    let log = std::fs::read_to_string(s.token.dir.join("registry.log")).unwrap();
    assert!(
        log.contains("authorized request"),
        "the registry verified a token"
    );
}

#[tokio::test]
async fn https_registry_with_a_custom_ca_bundle() {
    let s = stack();
    let image = s.tls.image("oci");
    let (p, _) = provider_with(RegistryOptions::default(), None);
    match p.image_config(&request(&image, "ns")).await {
        Err(LookupError::Registry { reason, .. }) => eprintln!("without the CA: {reason}"),
        other => panic!("expected a TLS failure without the CA, got {other:?}"),
    }
    // A bundle of two certificates, ours second.
    let (unrelated, _, _) = tls_material();
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("ca.pem");
    std::fs::write(&bundle, format!("{unrelated}{}", s.ca_pem)).unwrap();
    let opts = RegistryOptions {
        registry_ca_bundle: Some(bundle),
        ..Default::default()
    };
    let (p, _) = provider_with(opts, None);
    assert_eq!(
        p.image_config(&request(&image, "ns")).await.unwrap().cmd,
        Some(vec!["3600".to_string()])
    );
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate").unwrap();
    let bad = RegistryOptions {
        registry_ca_bundle: Some(empty),
        ..Default::default()
    };
    assert!(bad.fetch_settings().is_err());
}

#[tokio::test]
async fn a_warm_admission_reads_no_credentials_and_each_pod_identity_keeps_its_own() {
    let s = stack();
    let host = s.basic.host();
    let creds = credentials(&host);
    let (p, _) = provider_with(insecure(std::slice::from_ref(&host)), Some(creds.clone()));
    let image = s.basic.image("oci");
    let reads = || creds.reads.load(std::sync::atomic::Ordering::SeqCst);
    p.image_config(&req(&image, "team-a", &["pull"])).await.unwrap();
    let cold = reads();
    assert_eq!(cold, 2, "the service account and the pod's secret are read once");
    p.image_config(&req(&image, "team-a", &["pull"])).await.unwrap();
    assert_eq!(reads(), cold, "the scope is remembered: no reads, no parsing");
    // Another identity in the same namespace is worked out on its own and refused.
    assert_unauthorized(
        p.image_config(&req(&image, "team-a", &[])).await,
        "team-a without its secret",
    );
    assert_eq!(
        reads(),
        cold + 1,
        "only the service account, for the new identity"
    );
    // With the reuse turned off (TTL 0), every admission reads again.
    let opts = RegistryOptions {
        credential_ttl: 0,
        ..insecure(std::slice::from_ref(&host))
    };
    let (p, _) = provider_with(opts, Some(creds.clone()));
    let before = reads();
    for _ in 0..2 {
        p.image_config(&req(&image, "team-a", &["pull"])).await.unwrap();
    }
    assert_eq!(reads(), before + 4);
}
