//! Durations: `10s`, `500ms`, `1m30s`, `1.5s`, `2h`, `250us`, or a plain number of seconds.
//! Exact decimal arithmetic (no floats), bounded by [`MAX_DURATION`]: a value out of range is an
//! error, never a panic or a silent wrap.

use std::time::Duration;

use crate::ValueError;

/// The longest duration any setting takes: 7 days. Longer values are usage errors (they are
/// typos, and the supervisor's timers count milliseconds in 32 bits).
pub const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);

/// Parses a duration: one or more `NUMBER UNIT` parts (units `h`, `m`, `s`, `ms`, `us`, `µs`,
/// `ns`; numbers with an optional decimal fraction), or a plain NUMBER of seconds.
pub fn duration(text: &str) -> Result<Duration, ValueError> {
    let t = text.trim();
    let bad = || ValueError(format!("expected a duration like 10s, 500ms or 1m30s, got {t:?}"));
    if t.is_empty() {
        return Err(bad());
    }
    let mut total: u128 = 0; // nanoseconds
    let mut rest = t;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, tail) = rest.split_at(num_len);
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_len);
        let scale: u128 = match unit {
            "" if num_len == t.len() => 1_000_000_000, // the whole text is one plain number
            "h" => 3_600_000_000_000,
            "m" => 60_000_000_000,
            "s" => 1_000_000_000,
            "ms" => 1_000_000,
            "us" | "µs" => 1_000,
            "ns" => 1,
            _ => return Err(bad()),
        };
        total = total.saturating_add(scaled(num, scale).ok_or_else(bad)?);
        rest = next;
    }
    if total > MAX_DURATION.as_nanos() {
        return Err(ValueError(format!(
            "duration {t:?} is longer than the maximum, 7 days (168h)"
        )));
    }
    Ok(Duration::from_nanos(total as u64))
}

/// `num` (digits, optionally `.` and more digits) times `scale` nanoseconds, truncated to whole
/// nanoseconds; `None` when `num` is not a number. Saturates instead of overflowing.
fn scaled(num: &str, scale: u128) -> Option<u128> {
    let (whole, frac) = num.split_once('.').unwrap_or((num, ""));
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(frac) {
        return None;
    }
    let mut value: u128 = 0;
    for b in whole.bytes() {
        value = value.saturating_mul(10).saturating_add(u128::from(b - b'0'));
    }
    let mut out = value.saturating_mul(scale);
    let mut unit = scale;
    for b in frac.bytes() {
        unit /= 10;
        if unit == 0 {
            break;
        }
        out = out.saturating_add(u128::from(b - b'0') * unit);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grammar() {
        let ok = |s: &str| duration(s).unwrap();
        assert_eq!(ok("10s"), Duration::from_secs(10));
        assert_eq!(ok(" 500ms "), Duration::from_millis(500));
        assert_eq!(ok("1m30s"), Duration::from_secs(90));
        assert_eq!(ok("1.5s"), Duration::from_millis(1500));
        assert_eq!(ok("2h"), Duration::from_secs(7200));
        assert_eq!(ok("250us"), Duration::from_micros(250));
        assert_eq!(ok("3µs"), Duration::from_micros(3));
        assert_eq!(ok("7ns"), Duration::from_nanos(7));
        assert_eq!(ok("10"), Duration::from_secs(10));
        assert_eq!(ok("0.25"), Duration::from_millis(250));
        assert_eq!(ok(".5s"), Duration::from_millis(500));
        assert_eq!(ok("0"), Duration::ZERO);
        assert_eq!(ok("168h"), MAX_DURATION);
        assert_eq!(ok("1.123456789123s"), Duration::from_nanos(1_123_456_789));
    }

    #[test]
    fn bad_and_out_of_range_values_are_errors_not_panics() {
        for bad in [
            "", "s", "10x", "1d", "-1s", "1e30", "1..5s", "10 s", "1s2", "5m3", "NaN", "inf", ".", "ms10",
        ] {
            assert!(duration(bad).is_err(), "{bad:?}");
        }
        for huge in [
            "169h",
            "1e30s",
            "99999999999999999999999h",
            "10000000000000000000s",
            "604801",
        ] {
            let e = duration(huge).unwrap_err();
            assert!(e.0.contains("maximum") || e.0.contains("expected"), "{huge}: {e}");
        }
        assert!(duration(&"9".repeat(5000)).is_err());
    }
}
