//! Cache behaviour with a counting fake fetch: coalescing, TTLs, stale-while-revalidate,
//! failures, fetches that outlive their caller, eviction.

use super::*;
use crate::images::ImageConfig;
use std::sync::atomic::{AtomicUsize, Ordering};

fn ttls(tag_ms: u64, failure_ms: u64, stale_ms: u64) -> Ttls {
    Ttls {
        tag: Duration::from_millis(tag_ms),
        digest: Duration::from_secs(3600),
        failure: Duration::from_millis(failure_ms),
        stale: Duration::from_millis(stale_ms),
        fetch: Duration::from_secs(5),
    }
}

fn key(reference: &str) -> CacheKey {
    CacheKey {
        scope: Arc::from([]),
        reference: reference.into(),
        platform: Platform::default(),
    }
}

fn config(cmd: &str) -> Arc<ImageConfig> {
    Arc::new(ImageConfig {
        cmd: Some(vec![cmd.into()]),
        ..Default::default()
    })
}

/// A fetch that counts its calls, waits `delay_ms`, then answers `answer`.
fn fetcher(
    calls: &Arc<AtomicUsize>,
    delay_ms: u64,
    answer: Outcome,
) -> impl FnOnce() -> BoxFuture<'static, Outcome> {
    let calls = Arc::clone(calls);
    move || {
        calls.fetch_add(1, Ordering::SeqCst);
        async move {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            answer
        }
        .boxed()
    }
}

fn sleep(ms: u64) -> tokio::time::Sleep {
    tokio::time::sleep(Duration::from_millis(ms))
}

#[tokio::test]
async fn concurrent_lookups_share_one_fetch() {
    let metrics = RegistryMetrics::new();
    let cache = Cache::new(ttls(60_000, 1000, 0), 16, metrics.clone());
    let calls = Arc::new(AtomicUsize::new(0));
    let lookups = (0..100).map(|_| cache.get(key("r:t"), false, fetcher(&calls, 100, Ok(config("a")))));
    let results = futures::future::join_all(lookups).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(results.iter().all(|r| r == &Ok(config("a"))));
    assert_eq!(metrics.cache_count("miss"), 1);
    assert_eq!(metrics.cache_count("coalesced"), 99);
    // Filled: the next lookup is a hit.
    assert_eq!(
        cache
            .get(key("r:t"), false, fetcher(&calls, 0, Ok(config("b"))))
            .await,
        Ok(config("a"))
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(metrics.cache_count("hit"), 1);
}

#[tokio::test]
async fn failures_are_cached_briefly() {
    let cache = Cache::new(ttls(60_000, 100, 0), 16, RegistryMetrics::new());
    let calls = Arc::new(AtomicUsize::new(0));
    let gone = Err(LookupError::NotFound {
        image: "r:t".into(),
        reason: "manifest unknown".into(),
    });
    assert!(
        cache
            .get(key("r:t"), false, fetcher(&calls, 0, gone.clone()))
            .await
            .is_err()
    );
    assert!(
        cache
            .get(key("r:t"), false, fetcher(&calls, 0, Ok(config("a"))))
            .await
            .is_err()
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    sleep(150).await;
    assert_eq!(
        cache
            .get(key("r:t"), false, fetcher(&calls, 0, Ok(config("a"))))
            .await,
        Ok(config("a"))
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn stale_tag_is_served_while_one_refresh_runs() {
    let metrics = RegistryMetrics::new();
    let cache = Cache::new(ttls(50, 1000, 60_000), 16, metrics.clone());
    let calls = Arc::new(AtomicUsize::new(0));
    cache
        .get(key("r:t"), false, fetcher(&calls, 0, Ok(config("old"))))
        .await
        .unwrap();
    sleep(80).await;
    // Expired: the old value answers at once, one refresh starts (slow), others don't start more.
    for _ in 0..5 {
        let got = cache
            .get(key("r:t"), false, fetcher(&calls, 100, Ok(config("new"))))
            .await;
        assert_eq!(got, Ok(config("old")));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(metrics.cache_count("stale"), 5);
    sleep(150).await;
    assert_eq!(
        cache
            .get(key("r:t"), false, fetcher(&calls, 0, Ok(config("x"))))
            .await,
        Ok(config("new"))
    );
}

#[tokio::test]
async fn transient_refresh_failure_keeps_the_stale_config() {
    let cache = Cache::new(ttls(50, 1000, 60_000), 16, RegistryMetrics::new());
    let calls = Arc::new(AtomicUsize::new(0));
    cache
        .get(key("r:t"), false, fetcher(&calls, 0, Ok(config("old"))))
        .await
        .unwrap();
    sleep(80).await;
    let down = Err(LookupError::Registry {
        image: "r:t".into(),
        reason: "connection refused".into(),
    });
    assert_eq!(
        cache
            .get(key("r:t"), false, fetcher(&calls, 0, down.clone()))
            .await,
        Ok(config("old"))
    );
    sleep(30).await;
    // Still served, and no refresh storm: the failure TTL holds the next refresh back.
    assert_eq!(
        cache.get(key("r:t"), false, fetcher(&calls, 0, down)).await,
        Ok(config("old"))
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn definitive_refresh_failure_replaces_the_stale_config() {
    let cache = Cache::new(ttls(50, 1000, 60_000), 16, RegistryMetrics::new());
    let calls = Arc::new(AtomicUsize::new(0));
    cache
        .get(key("r:t"), false, fetcher(&calls, 0, Ok(config("old"))))
        .await
        .unwrap();
    sleep(80).await;
    let gone = Err(LookupError::NotFound {
        image: "r:t".into(),
        reason: "tag deleted".into(),
    });
    assert_eq!(
        cache
            .get(key("r:t"), false, fetcher(&calls, 0, gone.clone()))
            .await,
        Ok(config("old"))
    );
    sleep(30).await;
    assert_eq!(
        cache
            .get(key("r:t"), false, fetcher(&calls, 0, Ok(config("x"))))
            .await,
        gone
    );
}

#[tokio::test]
async fn digests_outlive_the_tag_ttl() {
    let cache = Cache::new(ttls(10, 10, 0), 16, RegistryMetrics::new());
    let calls = Arc::new(AtomicUsize::new(0));
    cache
        .get(key("r@sha256:1"), true, fetcher(&calls, 0, Ok(config("a"))))
        .await
        .unwrap();
    sleep(50).await;
    cache
        .get(key("r@sha256:1"), true, fetcher(&calls, 0, Ok(config("b"))))
        .await
        .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_abandoned_lookup_still_fills_the_cache() {
    let cache = Cache::new(ttls(60_000, 1000, 0), 16, RegistryMetrics::new());
    let calls = Arc::new(AtomicUsize::new(0));
    let quick = tokio::time::timeout(
        Duration::from_millis(10),
        cache.get(key("r:t"), false, fetcher(&calls, 100, Ok(config("a")))),
    );
    assert!(quick.await.is_err(), "the caller gives up first");
    sleep(150).await;
    assert_eq!(
        cache
            .get(key("r:t"), false, fetcher(&calls, 0, Ok(config("b"))))
            .await,
        Ok(config("a"))
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn scopes_do_not_share_entries() {
    let cache = Cache::new(ttls(60_000, 1000, 0), 16, RegistryMetrics::new());
    let calls = Arc::new(AtomicUsize::new(0));
    let mut other = key("r:t");
    other.scope = Arc::from([Credential {
        username: "u".into(),
        password: "p".into(),
    }]);
    cache
        .get(key("r:t"), false, fetcher(&calls, 0, Ok(config("anon"))))
        .await
        .unwrap();
    assert_eq!(
        cache
            .get(other, false, fetcher(&calls, 0, Ok(config("cred"))))
            .await,
        Ok(config("cred"))
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn capacity_is_enforced() {
    let cache = Cache::new(ttls(60_000, 1000, 0), 3, RegistryMetrics::new());
    let calls = Arc::new(AtomicUsize::new(0));
    for i in 0..10 {
        cache
            .get(key(&format!("r:{i}")), false, fetcher(&calls, 0, Ok(config("a"))))
            .await
            .unwrap();
    }
    assert!(cache.len() <= 3, "{} entries", cache.len());
}

#[tokio::test]
async fn ten_thousand_distinct_failures_stay_within_the_bound() {
    let cache = Cache::new(ttls(60_000, 60_000, 0), 100, RegistryMetrics::new());
    let calls = Arc::new(AtomicUsize::new(0));
    for i in 0..10_000 {
        let gone = Err(LookupError::NotFound {
            image: format!("r:{i}"),
            reason: "manifest unknown".into(),
        });
        let got = cache
            .get(key(&format!("r:{i}")), false, fetcher(&calls, 0, gone))
            .await;
        assert!(got.is_err());
    }
    assert_eq!(calls.load(Ordering::SeqCst), 10_000);
    assert!(cache.len() <= 100, "{} entries, bound 100", cache.len());
    assert!(cache.inflight.entry_count() <= 100);
}
