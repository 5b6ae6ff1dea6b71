//! Runs a pod's image lookups in parallel under one deadline, whatever the provider does.

use std::time::{Duration, Instant};

use crate::podview::Pod;
use futures::future::join_all;

use crate::image::{ImageConfigProvider, LookupError, LookupRequest, Platform};
use crate::mutate::Resolved;

/// The deadline for a request: the budget, capped at three quarters of the apiserver's
/// `?timeout=` so the answer still arrives in time.
pub fn budget(configured: Duration, request_timeout: Option<Duration>) -> Duration {
    match request_timeout {
        Some(t) => configured.min(t * 3 / 4),
        None => configured,
    }
}

/// `fut`, cut off at `deadline` like `tokio::time::timeout_at` (which also polls the future
/// before looking at the clock); a future ready at its first poll — a warm cache hit — never
/// creates the timer.
pub async fn by_deadline<F: std::future::Future>(
    deadline: tokio::time::Instant,
    fut: F,
) -> Result<F::Output, tokio::time::error::Elapsed> {
    let mut fut = std::pin::pin!(fut);
    if let std::task::Poll::Ready(out) = futures::poll!(fut.as_mut()) {
        return Ok(out);
    }
    tokio::time::timeout_at(deadline, fut).await
}

/// Looks up every image in parallel; each answer is cut off at `budget`.
pub async fn resolve_all(
    provider: &dyn ImageConfigProvider,
    pod: &Pod<'_>,
    namespace: &str,
    images: &[&str],
    platform: &Platform,
    budget: Duration,
) -> Resolved {
    let spec = pod.spec.as_ref();
    let pull_secrets: Vec<String> = spec
        .and_then(|s| s.image_pull_secrets.as_ref())
        .map(|v| {
            v.iter()
                .filter(|r| !r.name.is_empty())
                .map(|r| r.name.to_string())
                .collect()
        })
        .unwrap_or_default();
    let service_account = spec
        .and_then(|s| s.service_account_name.as_deref())
        .filter(|s| !s.is_empty())
        .unwrap_or("default");
    let deadline = Instant::now() + budget;
    let mut lookups = images.iter().map(|image| {
        let req = LookupRequest {
            image: (*image).into(),
            namespace: namespace.into(),
            pull_secrets: pull_secrets.as_slice().into(),
            service_account: service_account.into(),
            platform: std::borrow::Cow::Borrowed(platform),
            deadline,
        };
        async move {
            let tokio_deadline = tokio::time::Instant::from_std(req.deadline);
            let res = match by_deadline(tokio_deadline, provider.image_config(&req)).await {
                Ok(r) => r,
                Err(_) => Err(LookupError::Timeout {
                    image: req.image.to_string(),
                    budget_ms: budget.as_millis() as u64,
                }),
            };
            (image.to_string(), res)
        }
    });
    if let [_] = images {
        // The common pod: one image to look up, without join_all's bookkeeping.
        if let Some(only) = lookups.next() {
            let (image, result) = only.await;
            let mut resolved = Resolved::new();
            resolved.insert(image, result);
            return resolved;
        }
    }
    join_all(lookups).await.into_iter().collect()
}

/// Parses the apiserver's `timeout` query value: Go duration syntax (`10s`, `1m30s`, `1.5s`).
pub fn parse_go_duration(s: &str) -> Option<Duration> {
    // Whole seconds (`10s`, what the apiserver sends) without the general loop.
    if let Some(n) = s.strip_suffix('s') {
        if (1..=9).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()) {
            return n.parse().ok().map(Duration::from_secs);
        }
    }
    let mut rest = s.trim();
    let mut secs = 0.0_f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let unit_at = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let (num, tail) = rest.split_at(unit_at);
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_len);
        // Whole numbers (`10s`, what the apiserver sends) without the float parser.
        let n: f64 = match num.parse::<u32>() {
            Ok(whole) => whole.into(),
            Err(_) => num.parse().ok()?,
        };
        secs += match unit {
            "ns" => n / 1e9,
            "us" | "\u{b5}s" => n / 1e6,
            "ms" => n / 1e3,
            "s" => n,
            "m" => n * 60.0,
            "h" => n * 3600.0,
            _ => return None,
        };
        rest = next;
    }
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn by_deadline_answers_ready_futures_and_cuts_slow_ones() {
        let past = tokio::time::Instant::now();
        // Ready at once: answered even with the deadline already gone (as timeout_at does).
        assert_eq!(by_deadline(past, async { 7 }).await.ok(), Some(7));
        // Pending first, done in time.
        let soon = tokio::time::Instant::now() + Duration::from_secs(5);
        let slow_ok = async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            8
        };
        assert_eq!(by_deadline(soon, slow_ok).await.ok(), Some(8));
        // Pending past the deadline: cut off.
        let short = tokio::time::Instant::now() + Duration::from_millis(20);
        let never = std::future::pending::<()>();
        assert!(by_deadline(short, never).await.is_err());
    }

    #[test]
    fn budget_never_exceeds_the_request_timeout() {
        let two = Duration::from_secs(2);
        assert_eq!(budget(two, None), two);
        assert_eq!(budget(two, Some(Duration::from_secs(10))), two);
        assert_eq!(
            budget(two, Some(Duration::from_secs(1))),
            Duration::from_millis(750)
        );
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_go_duration("0s"), Some(Duration::ZERO));
        assert_eq!(
            parse_go_duration("1234567890s"),
            Some(Duration::from_secs(1_234_567_890))
        );
        assert_eq!(parse_go_duration("10ns"), Some(Duration::from_nanos(10)));
        assert_eq!(parse_go_duration("10us"), Some(Duration::from_micros(10)));
        assert_eq!(parse_go_duration("s"), None);
        assert_eq!(parse_go_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_go_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_go_duration("1m"), Some(Duration::from_secs(60)));
        assert_eq!(parse_go_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("10"), None);
        assert_eq!(parse_go_duration("x"), None);
    }
}
