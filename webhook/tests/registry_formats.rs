//! The registry provider against a real `docker-registry` on loopback: every manifest format,
//! platform selection, missing images, plain HTTP only where allowed, a registry that is down
//! or slower than the deadline, coalescing of concurrent lookups, and cold/warm latency.

mod registry_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use oci_client::Reference;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use registry_support::*;
use respawn_webhook::images::{ImageConfigProvider, LookupError};

fn s(v: &[&str]) -> Option<Vec<String>> {
    Some(v.iter().map(|x| x.to_string()).collect())
}

#[tokio::test]
async fn every_format_gives_entrypoint_and_cmd() {
    let (reg, digests) = open_registry();
    let (p, metrics) = provider_with(insecure(&[reg.host()]), None);
    for name in ["oci", "docker", "index", "manifest-list", "attested"] {
        let c = p
            .image_config(&request(&reg.image(name), "ns"))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(c.entrypoint, s(&["/bin/busybox", "sleep"]), "{name}");
        assert_eq!(c.cmd, s(&["3600"]), "{name}");
        // The digest is the platform manifest's: for single images the tag's own digest.
        if name == "oci" || name == "docker" {
            assert_eq!(c.digest.as_ref(), digests.get(name), "{name}");
        } else {
            assert!(c.digest.is_some(), "{name}");
            assert_ne!(
                c.digest.as_ref(),
                digests.get(name),
                "{name}: the index digest instead of amd64's"
            );
        }
    }
    assert_eq!(metrics.fetch_count("ok"), 5);
}

#[tokio::test]
async fn entrypoint_cmd_variants_and_dollars_are_read_verbatim() {
    let (reg, _) = open_registry();
    let (p, _) = provider_with(insecure(&[reg.host()]), None);
    let get = |n: &str| {
        let r = request(&reg.image(n), "ns");
        let p = &p;
        async move { p.image_config(&r).await }
    };
    let c = get("entrypoint-only").await.unwrap();
    assert_eq!(
        (c.entrypoint.clone(), c.cmd.clone()),
        (s(&["/bin/busybox", "sleep", "3600"]), None)
    );
    let c = get("cmd-only").await.unwrap();
    assert_eq!(
        (c.entrypoint.clone(), c.cmd.clone()),
        (None, s(&["/bin/busybox", "sleep", "3600"]))
    );
    let c = get("neither").await.unwrap();
    assert_eq!((c.entrypoint.clone(), c.cmd.clone()), (None, None));
    let c = get("shell-form").await.unwrap();
    assert_eq!(
        c.cmd,
        s(&["/bin/sh", "-c", "echo shell-form; exec /bin/busybox sleep 3600"])
    );
    let c = get("dollar").await.unwrap();
    assert_eq!(
        c.cmd,
        s(&[
            "/bin/sh",
            "-c",
            "echo 'dollar: $HOME $(VAR) $$ end'; exec /bin/busybox sleep 3600"
        ])
    );
    assert_eq!(c.working_dir.as_deref(), Some("/tmp"));
    assert_eq!(c.user.as_deref(), Some("65534"));
}

#[tokio::test]
async fn platform_selection_and_missing_platform() {
    let (reg, _) = open_registry();
    let (p, _) = provider_with(insecure(&[reg.host()]), None);
    for name in ["index", "manifest-list", "attested"] {
        let mut r = request(&reg.image(name), "ns");
        r.platform = arm64();
        let c = p.image_config(&r).await.unwrap();
        assert_eq!(c.entrypoint, s(&["/bin/busybox", "echo", "arm64"]), "{name}");
    }
    let err = p
        .image_config(&request(&reg.image("arm-only"), "ns"))
        .await
        .unwrap_err();
    match &err {
        LookupError::PlatformMissing {
            wanted, available, ..
        } => {
            assert_eq!(wanted, "linux/amd64");
            assert_eq!(available, "linux/arm64");
        }
        other => panic!("expected PlatformMissing, got {other:?}"),
    }
    let mut r = request(&reg.image("attested"), "ns");
    r.platform.architecture = "s390x".into();
    let msg = p.image_config(&r).await.unwrap_err().to_string();
    assert!(
        msg.contains("linux/amd64, linux/arm64") && !msg.contains("unknown"),
        "{msg}"
    );
}

#[tokio::test]
async fn digest_references_and_missing_images() {
    let (reg, digests) = open_registry();
    let (p, _) = provider_with(insecure(&[reg.host()]), None);
    let pinned = format!("{}/respawn-test/docker@{}", reg.host(), digests["docker"]);
    assert_eq!(
        p.image_config(&request(&pinned, "ns")).await.unwrap().cmd,
        s(&["3600"])
    );
    let both = format!("{}/respawn-test/docker:v1@{}", reg.host(), digests["docker"]);
    assert!(p.image_config(&request(&both, "ns")).await.is_ok());

    let missing_tag = format!("{}/respawn-test/oci:no-such-tag", reg.host());
    let missing_repo = format!("{}/respawn-test/no-such-image:v1", reg.host());
    let missing_digest = format!("{}/respawn-test/oci@sha256:{}", reg.host(), "0".repeat(64));
    for image in [missing_tag, missing_repo, missing_digest] {
        let err = p.image_config(&request(&image, "ns")).await.unwrap_err();
        assert!(matches!(err, LookupError::NotFound { .. }), "{image}: {err:?}");
        assert!(err.to_string().contains(&image), "message names the image: {err}");
    }
    for bad in ["", "UPPER/case", "a b", "reg/x@sha256:short"] {
        let err = p.image_config(&request(bad, "ns")).await.unwrap_err();
        assert!(
            matches!(err, LookupError::InvalidReference { .. }),
            "{bad:?}: {err:?}"
        );
    }
}

#[tokio::test]
async fn plain_http_only_for_listed_registries() {
    let (reg, _) = open_registry();
    // Not listed: HTTPS is spoken to a plain-HTTP registry and fails.
    let (p, _) = provider_with(insecure(&[]), None);
    let err = p
        .image_config(&request(&reg.image("oci"), "ns"))
        .await
        .unwrap_err();
    assert!(matches!(err, LookupError::Registry { .. }), "{err:?}");
    // Exact host:port: the same host with another port does not count.
    let (p, _) = provider_with(
        insecure(&[format!("127.0.0.1:{}", reg.port + 1), "127.0.0.1".into()]),
        None,
    );
    assert!(p.image_config(&request(&reg.image("oci"), "ns")).await.is_err());
}

#[tokio::test]
async fn registry_down_is_a_clear_error() {
    let port = free_port();
    let host = format!("127.0.0.1:{port}");
    let (p, _) = provider_with(insecure(std::slice::from_ref(&host)), None);
    let err = p
        .image_config(&request(&format!("{host}/app:v1"), "ns"))
        .await
        .unwrap_err();
    match &err {
        LookupError::Registry { reason, .. } => assert!(reason.contains("onnect"), "{reason}"),
        other => panic!("expected Registry error, got {other:?}"),
    }
}

#[tokio::test]
async fn slow_registry_hits_the_deadline_and_the_fetch_still_fills_the_cache() {
    let (reg, _) = open_registry();
    let proxy = SlowProxy::start(reg.port, Duration::from_millis(1500));
    let (p, metrics) = provider_with(insecure(&[proxy.host()]), None);
    let image = format!("{}/respawn-test/oci:v1", proxy.host());
    let mut r = request(&image, "ns");
    r.deadline = Instant::now() + Duration::from_millis(300);
    let started = Instant::now();
    let err = p.image_config(&r).await.unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, LookupError::Timeout { .. }), "{err:?}");
    assert!(
        took < Duration::from_millis(1500),
        "answered after the registry did: {took:?}"
    );
    eprintln!("slow registry: deadline 300 ms, answered in {took:?}");
    assert_eq!(metrics.lookups.get_or_create(&outcome("timeout")).get(), 1);
    // The fetch went on in the background and filled the cache.
    proxy.delay_ms.store(0, std::sync::atomic::Ordering::SeqCst);
    let until = Instant::now() + Duration::from_secs(20);
    while metrics.fetch_count("ok") == 0 {
        assert!(Instant::now() < until, "the background fetch never finished");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let c = p.image_config(&request(&image, "ns")).await.unwrap();
    assert_eq!(c.cmd, s(&["3600"]));
    assert_eq!(metrics.cache_count("hit"), 1);
}

fn outcome(o: &str) -> respawn_webhook::images::registry::OutcomeLabel {
    respawn_webhook::images::registry::OutcomeLabel { outcome: o.into() }
}

/// Copies `respawn-test/oci:v1` to a fresh tag, so no cache or log has seen it.
async fn fresh_tag(host: &str, tag: &str) -> String {
    let client = oci_client::Client::new(ClientConfig {
        protocol: ClientProtocol::HttpsExcept(vec![host.to_string()]),
        ..Default::default()
    });
    let src: Reference = format!("{host}/respawn-test/oci:v1").parse().unwrap();
    let dst: Reference = format!("{host}/respawn-test/oci:{tag}").parse().unwrap();
    let (body, _) = client
        .pull_manifest_raw(
            &src,
            &RegistryAuth::Anonymous,
            &["application/vnd.oci.image.manifest.v1+json"],
        )
        .await
        .unwrap();
    let ct = http::HeaderValue::from_static("application/vnd.oci.image.manifest.v1+json");
    client.push_manifest_raw(&dst, body.to_vec(), ct).await.unwrap();
    dst.whole()
}

#[tokio::test]
async fn hundred_concurrent_lookups_make_one_manifest_fetch() {
    let (reg, _) = open_registry();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let image = fresh_tag(&reg.host(), "coalesce").await;
    let (p, metrics) = provider_with(insecure(&[reg.host()]), None);
    let p = Arc::new(p);
    let lookups = (0..100).map(|_| {
        let p = Arc::clone(&p);
        let r = request(&image, "ns");
        tokio::spawn(async move { p.image_config(&r).await })
    });
    let results = futures::future::join_all(lookups).await;
    assert!(
        results
            .iter()
            .all(|r| r.as_ref().unwrap().as_ref().is_ok_and(|c| c.cmd == s(&["3600"])))
    );
    let gets = reg.count_gets("/v2/respawn-test/oci/manifests/coalesce");
    eprintln!(
        "coalescing: 100 concurrent lookups -> {gets} manifest GET(s) at the registry; cache miss={} coalesced={}",
        metrics.cache_count("miss"),
        metrics.cache_count("coalesced")
    );
    assert_eq!(gets, 1, "manifest GETs in the registry's access log");
    assert_eq!(metrics.fetch_count("ok"), 1);
}

#[tokio::test]
async fn cold_and_warm_latency() {
    let (reg, _) = open_registry();
    let (p, _) = provider_with(insecure(&[reg.host()]), None);
    // The first lookup of the process also pays one-time initialisation; reported apart.
    let t = Instant::now();
    p.image_config(&request(&reg.image("neither"), "ns"))
        .await
        .unwrap();
    let first = t.elapsed();
    let names = [
        "oci",
        "docker",
        "index",
        "manifest-list",
        "attested",
        "entrypoint-only",
        "cmd-only",
        "shell-form",
        "dollar",
    ];
    let (mut cold, mut warm) = (Vec::new(), Vec::new());
    for name in names {
        let r = request(&reg.image(name), "ns");
        let t = Instant::now();
        p.image_config(&r).await.unwrap();
        cold.push(t.elapsed());
        for _ in 0..200 {
            let t = Instant::now();
            p.image_config(&r).await.unwrap();
            warm.push(t.elapsed());
        }
    }
    cold.sort();
    warm.sort();
    let pick = |v: &[Duration], q: f64| v[((v.len() - 1) as f64 * q) as usize];
    eprintln!(
        "latency: first-in-process {first:?}; cold p50 {:?} max {:?} (n={}); warm p50 {:?} p99 {:?} (n={})",
        pick(&cold, 0.5),
        cold[cold.len() - 1],
        cold.len(),
        pick(&warm, 0.5),
        pick(&warm, 0.99),
        warm.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distinct_failing_references_leave_the_cache_at_its_bound() {
    // Every lookup a new, missing image of a real registry: each is fetched (404) and its
    // failure cached; the cache must stay at its capacity however many there are. 2,000
    // lookups (20x the capacity) through the registry here; the cache's own unit test runs
    // 10,000 with a fake fetch.
    let (reg, _) = open_registry();
    let opts = respawn_webhook::images::registry::RegistryOptions {
        cache_capacity: 100,
        cache_failure_ttl: 3600,
        ..insecure(&[reg.host()])
    };
    let (p, metrics) = provider_with(opts, None);
    let p = Arc::new(p);
    let n = 2_000;
    let mut set = tokio::task::JoinSet::new();
    for k in 0..32 {
        let p = Arc::clone(&p);
        let host = reg.host();
        set.spawn(async move {
            for i in (k..n).step_by(32) {
                let r = request(&format!("{host}/load/missing-{i}:v1"), "ns");
                assert!(
                    matches!(p.image_config(&r).await, Err(LookupError::NotFound { .. })),
                    "missing-{i}"
                );
            }
        });
    }
    while let Some(done) = set.join_next().await {
        done.unwrap();
    }
    let fetches = metrics.fetches.get_or_create(&outcome("not_found")).get();
    assert_eq!(fetches, n as u64, "every distinct image was fetched once");
    assert!(p.cached() <= 100, "{} configs cached, capacity 100", p.cached());
}
