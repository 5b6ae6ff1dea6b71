//! Tests of the plain log format: byte-for-byte against tracing-subscriber's own formatter,
//! and the timestamp arithmetic against known instants.
use std::sync::{Arc, Mutex};

use tracing::{debug, error, info, info_span, trace, warn};
use tracing_subscriber::fmt::MakeWriter;

use super::*;

/// A `MakeWriter` that appends to a shared buffer.
#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buf {
    type Writer = Buf;
    fn make_writer(&'a self) -> Buf {
        self.clone()
    }
}

/// The lines `emit` logs through tracing-subscriber's default non-ANSI format and through
/// [`PlainFormat`].
fn both(emit: impl Fn()) -> (String, String) {
    let (default, plain) = (Buf::default(), Buf::default());
    let sub = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new("trace"))
        .with_ansi(false)
        .with_writer(default.clone())
        .finish();
    tracing::subscriber::with_default(sub, &emit);
    let sub = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new("trace"))
        .with_ansi(false)
        .with_writer(plain.clone())
        .event_format(PlainFormat::default())
        .finish();
    tracing::subscriber::with_default(sub, &emit);
    let text = |b: Buf| String::from_utf8(b.0.lock().unwrap().clone()).unwrap();
    (text(default), text(plain))
}

/// Microseconds since the epoch of a `YYYY-MM-DDTHH:MM:SS.ffffffZ` timestamp (years 0–9999).
fn parse_ts(ts: &str) -> i64 {
    let b = ts.as_bytes();
    assert_eq!(
        (ts.len(), b[4], b[7], b[10], b[13], b[16], b[19], b[26]),
        (27, b'-', b'-', b'T', b':', b':', b'.', b'Z'),
        "{ts}"
    );
    let n = |r: std::ops::Range<usize>| ts[r].parse::<i64>().unwrap();
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    // Inverse of civil_from_days by search from a lower bound: slow, independent, fine here.
    let mut days = (y - 1970) * 365 + (y - 1970) / 4 - 400;
    while civil_from_days(days) != (y, m as u32, d as u32) {
        days += 1;
        assert!(days < (y - 1969) * 366, "no such day: {ts}");
    }
    ((days * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19)) * 1_000_000) + n(20..26)
}

/// `text` with each line-leading timestamp replaced by `<ts>`, and those timestamps parsed.
fn split_ts(text: &str) -> (String, Vec<i64>) {
    let (mut rest, mut stamps) = (String::new(), Vec::new());
    for line in text.split_inclusive('\n') {
        let b = line.as_bytes();
        if b.len() > 27 && b[10] == b'T' && b[26] == b'Z' && b[27] == b' ' {
            stamps.push(parse_ts(&line[..27]));
            rest.push_str("<ts>");
            rest.push_str(&line[27..]);
        } else {
            rest.push_str(line);
        }
    }
    (rest, stamps)
}

/// Asserts equal output apart from the timestamps, which must be within a second of each
/// other; `events` lines are expected. Returns [`PlainFormat`]'s output.
fn assert_same(emit: impl Fn(), events: usize) -> String {
    let (default, plain) = both(emit);
    let (d, dts) = split_ts(&default);
    let (p, pts) = split_ts(&plain);
    assert_eq!(p, d);
    assert_eq!((dts.len(), pts.len()), (events, events), "{default}");
    for (a, b) in dts.iter().zip(&pts) {
        assert!((a - b).abs() < 1_000_000, "{plain} vs {default}");
    }
    plain
}

#[test]
fn decision_line_matches_the_default_format() {
    let (namespace, name, containers) = ("dev", "web-7d9f8b6c5d-*", "web,sidecar");
    // As the handler writes it (`message` a `str` field) and with a format-string message.
    let plain = assert_same(
        || {
            info!(message = "injected", namespace, pod = %name, containers = %containers);
            info!(namespace, pod = %name, containers = %containers, "injected");
        },
        2,
    );
    let line = format!(
        " INFO {}: injected namespace=\"dev\" pod=web-7d9f8b6c5d-* containers=web,sidecar",
        module_path!()
    );
    let rest: Vec<&str> = plain.lines().map(|l| l.split_once(' ').unwrap().1).collect();
    assert_eq!(rest, [line.as_str(), line.as_str()]);
}

#[test]
fn field_kinds_match_the_default_format() {
    assert_same(
        || {
            let s = "with \"quotes\", \\ and\nnew\tline, caf\u{e9} \u{1b}[31m";
            info!(text = s, plain = "abc", empty = "", shown = %s, dbg = ?s, vec = ?vec![1, 2], "m");
            warn!(
                a = 1u64,
                b = -42i64,
                c = i64::MIN,
                d = u64::MAX,
                e = 1.5f64,
                f = 1e300f64,
                g = true,
                h = false,
                i = 7u128
            );
            error!(r#type = "raw", "only {} here", "formatted");
            debug!("message only");
            trace!(x = 1);
            info!(message = "message as a str field", y = 2);
            info!("ansi \u{1b}[31m in\u{7}message\u{85} kept\nnew line");
        },
        7,
    );
}

#[test]
fn errors_with_sources_match_the_default_format() {
    let inner = std::io::Error::other("disk \u{1b}gone");
    let outer = std::io::Error::other(anyhow::Error::new(inner).context("cannot read"));
    let outer = &outer as &(dyn std::error::Error + 'static);
    let plain = assert_same(|| warn!(error = outer, r#err = outer, "failed"), 1);
    assert!(plain.contains(" error.sources=[disk \\x1bgone] "), "{plain}");
}

#[test]
fn spans_fall_back_to_the_default_format() {
    let plain = assert_same(
        || {
            let _g = info_span!("review", uid = "u-1").entered();
            info!(n = 1, "inside");
        },
        1,
    );
    assert!(plain.contains(" review{uid=\"u-1\"}: "), "{plain}");
}

/// `write_timestamp` output for `secs` and `nanos`, without the trailing space.
fn ts(secs: i64, nanos: u32) -> String {
    let mut s = String::new();
    write_timestamp(&mut s, secs, nanos).unwrap();
    s.strip_suffix(' ').unwrap().to_owned()
}

#[test]
fn timestamps_of_known_instants() {
    // Expected strings from GNU `date -u -d @SECS`.
    for (secs, want) in [
        (0, "1970-01-01T00:00:00"),
        (-1, "1969-12-31T23:59:59"),
        (951_782_400, "2000-02-29T00:00:00"),
        (1_709_164_800, "2024-02-29T00:00:00"),
        (4_107_455_999, "2100-02-27T23:59:59"),
        (4_107_542_400, "2100-03-01T00:00:00"),
        (1_704_067_199, "2023-12-31T23:59:59"),
        (1_704_067_200, "2024-01-01T00:00:00"),
        (1_735_689_599, "2024-12-31T23:59:59"),
        (-2_208_988_801, "1899-12-31T23:59:59"),
        (-62_135_596_800, "0001-01-01T00:00:00"),
        (253_402_300_799, "9999-12-31T23:59:59"),
    ] {
        assert_eq!(ts(secs, 0), format!("{want}.000000Z"), "{secs}");
    }
    assert_eq!(ts(253_402_300_800, 0), "+10000-01-01T00:00:00.000000Z");
    assert_eq!(ts(-62_135_596_801, 0), "0000-12-31T23:59:59.000000Z");
    assert_eq!(ts(-62_167_219_201, 0), "-0001-12-31T23:59:59.000000Z");
}

#[test]
fn timestamps_truncate_to_microseconds() {
    assert_eq!(ts(0, 999_999_999), "1970-01-01T00:00:00.999999Z");
    assert_eq!(ts(0, 1_999), "1970-01-01T00:00:00.000001Z");
    assert_eq!(ts(0, 999), "1970-01-01T00:00:00.000000Z");
    assert_eq!(ts(1_704_067_199, 123_456_789), "2023-12-31T23:59:59.123456Z");
}

fn month_len(y: i64, m: u32) -> u32 {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ][m as usize - 1]
}

#[test]
fn every_day_of_four_centuries_follows_the_previous_one() {
    // civil_from_days is monotonic and gap-free: each day is the previous one plus one.
    let mut prev = civil_from_days(-719_468 - 1);
    for days in -719_468..=-719_468 + 146_097 * 4 {
        let (y, m, d) = civil_from_days(days);
        assert!(d >= 1 && d <= month_len(y, m), "{y}-{m}-{d}");
        let want = match (m, d) {
            (_, 2..) => (y, m, d - 1),
            (2.., _) => (y, m - 1, month_len(y, m - 1)),
            _ => (y - 1, 12, 31),
        };
        assert_eq!(prev, want, "day {days}");
        prev = (y, m, d);
    }
    assert_eq!(civil_from_days(-719_468), (0, 3, 1));
}
