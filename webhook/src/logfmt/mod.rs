//! The log line format: a cheaper, byte-for-byte equal replacement of `tracing_subscriber`'s
//! default non-ANSI `Full` format, and [`init`], the one logging setup of the binary and the
//! benchmarks.
//!
//! Every admitted pod logs one `info!` line; with the default formatter that line cost about 7.7 k
//! instructions per admission review (`DateTime` Display, ANSI style wrappers that print nothing,
//! `core::fmt` for every piece). [`PlainFormat`] writes the same bytes directly:
//!
//! ```text
//! 2026-11-21T15:04:48.123456Z  INFO respawn_webhook::handler: injected namespace="dev" pod=web-7d9f8b6c5d-* containers=web
//! ```
//!
//! timestamp (UTC, RFC 3339, microseconds, truncated), level padded to 5 columns, target, `: `,
//! the message, then `name=value` fields separated by one space: string fields Debug-quoted,
//! `%` fields by Display, `?` fields, numbers and bools by Debug. The message is ANSI-sanitized as
//! tracing does. Events inside a span, events bridged from the `log` crate and ANSI (terminal)
//! output are handed to the default formatter, so they look exactly as before.

use std::fmt::{self, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::{Format, Full, Writer};
use tracing_subscriber::fmt::time::SystemTime as DefaultTimer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

/// Installs the global subscriber: `filter`, ANSI colors when `ansi` (the default colored
/// format), otherwise [`PlainFormat`]; lines go to `writer`. Panics if one is already installed.
pub fn init<W>(filter: EnvFilter, ansi: bool, writer: W)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(writer)
        .event_format(PlainFormat::default())
        .init();
}

/// The default `Full` format without ANSI, written by hand (see the module docs).
#[derive(Default)]
pub struct PlainFormat {
    fallback: Format<Full, DefaultTimer>,
}

/// The metadata name of events that `tracing-log` bridges from the `log` crate.
const LOG_EVENT: &str = "log event";

impl<S, N> FormatEvent<S, N> for PlainFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        if writer.has_ansi_escapes() || meta.name() == LOG_EVENT || ctx.event_scope().is_some() {
            return self.fallback.format_event(ctx, writer, event);
        }
        let (secs, nanos) = now();
        write_timestamp(&mut writer, secs, nanos)?;
        writer.write_str(level_str(meta.level()))?;
        writer.write_str(meta.target())?;
        writer.write_str(": ")?;
        let sanitize = writer.sanitizes_ansi_escapes();
        let mut fields = PlainFields {
            writer: &mut writer,
            first: true,
            sanitize,
            result: Ok(()),
        };
        event.record(&mut fields);
        fields.result?;
        writer.write_char('\n')
    }
}

/// The level column with its padding and the spaces around it, as `FmtLevel` prints it.
fn level_str(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "TRACE ",
        Level::DEBUG => "DEBUG ",
        Level::INFO => " INFO ",
        Level::WARN => " WARN ",
        _ => "ERROR ",
    }
}

/// Seconds since the epoch (negative before it) and nanoseconds, as `tracing_subscriber` reads them.
fn now() -> (i64, u32) {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_secs() as i64, d.subsec_nanos()),
        Err(e) => {
            let d = e.duration();
            match d.subsec_nanos() {
                0 => (-(d.as_secs() as i64), 0),
                n => (-(d.as_secs() as i64) - 1, 1_000_000_000 - n),
            }
        }
    }
}

/// Year, month (1–12) and day (1–31) of a day count since 1970-01-01 (proleptic Gregorian;
/// H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// Writes `YYYY-MM-DDTHH:MM:SS.ffffffZ ` (note the trailing space); microseconds are truncated,
/// years outside 0–9999 are written as `tracing_subscriber` does (`+10000`, `-0001`).
fn write_timestamp(w: &mut impl fmt::Write, secs: i64, nanos: u32) -> fmt::Result {
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400) as u32;
    let mut buf = *b"0000-00-00T00:00:00.000000Z ";
    if (0..=9999).contains(&year) {
        put_digits(&mut buf[0..4], year as u32);
    } else if year > 9999 {
        write!(w, "+{year}")?;
    } else {
        write!(w, "{year:05}")?;
    }
    put_digits(&mut buf[5..7], month);
    put_digits(&mut buf[8..10], day);
    put_digits(&mut buf[11..13], sod / 3600);
    put_digits(&mut buf[14..16], sod / 60 % 60);
    put_digits(&mut buf[17..19], sod % 60);
    put_digits(&mut buf[20..26], nanos / 1000);
    let start = if (0..=9999).contains(&year) { 0 } else { 4 };
    // The buffer holds ASCII digits and punctuation only.
    w.write_str(std::str::from_utf8(&buf[start..]).map_err(|_| fmt::Error)?)
}

/// Writes `n` in decimal, zero-padded to the width of `out` (higher digits are dropped).
fn put_digits(out: &mut [u8], mut n: u32) {
    for b in out.iter_mut().rev() {
        *b = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// Writes an event's fields as `DefaultFields` does: message bare, others `name=value`.
struct PlainFields<'a, 'w> {
    writer: &'a mut Writer<'w>,
    first: bool,
    sanitize: bool,
    result: fmt::Result,
}

impl PlainFields<'_, '_> {
    /// Writes the separator and `name=` (nothing for the message); false for skipped fields.
    fn start(&mut self, field: &Field) -> bool {
        let name = field.name();
        if self.result.is_err() || name.starts_with("log.") {
            return false;
        }
        if !std::mem::take(&mut self.first) {
            self.result = self.writer.write_char(' ');
        }
        if name != "message" {
            let name = name.strip_prefix("r#").unwrap_or(name);
            self.result = self
                .result
                .and(self.writer.write_str(name))
                .and(self.writer.write_char('='));
        }
        self.result.is_ok()
    }

    fn finish(&mut self, r: fmt::Result) {
        self.result = r;
    }
}

impl Visit for PlainFields<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if !self.start(field) {
            return;
        }
        let r = if field.name() == "message" {
            Sanitizing::new(self.writer, self.sanitize).write_str(value)
        } else if value
            .bytes()
            .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
        {
            // `str`'s Debug escapes nothing here: quote it without `core::fmt`.
            (self.writer.write_char('"'))
                .and(self.writer.write_str(value))
                .and(self.writer.write_char('"'))
        } else {
            write!(self.writer, "{value:?}")
        };
        self.finish(r);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if !self.start(field) {
            return;
        }
        let r = if field.name() == "message" {
            write!(Sanitizing::new(self.writer, self.sanitize), "{value:?}")
        } else {
            write!(self.writer, "{value:?}")
        };
        self.finish(r);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if self.start(field) {
            let r = write_u64(self.writer, value);
            self.finish(r);
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if self.start(field) {
            let sign = if value < 0 {
                self.writer.write_char('-')
            } else {
                Ok(())
            };
            let r = sign.and(write_u64(self.writer, value.unsigned_abs()));
            self.finish(r);
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if self.start(field) {
            let r = self.writer.write_str(if value { "true" } else { "false" });
            self.finish(r);
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        if !self.start(field) {
            return;
        }
        let mut w = Sanitizing::new(self.writer, self.sanitize);
        let mut r = write!(w, "{value}");
        if let Some(source) = value.source() {
            // tracing-subscriber prints the name here as given, `r#` included.
            r = r.and(write!(w.inner, " {}.sources=[", field.name()));
            let mut next = Some(source);
            let mut sep = "";
            while let Some(err) = next {
                r = r
                    .and(w.inner.write_str(sep))
                    .and(write!(Sanitizing::new(w.inner, w.on), "{err}"));
                sep = ", ";
                next = err.source();
            }
            r = r.and(w.inner.write_char(']'));
        }
        self.finish(r);
    }
}

/// Writes `n` in decimal without `core::fmt`.
pub(crate) fn write_u64(w: &mut impl fmt::Write, mut n: u64) -> fmt::Result {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    w.write_str(std::str::from_utf8(&buf[i..]).map_err(|_| fmt::Error)?)
}

/// Escapes the characters `tracing_subscriber` escapes in messages (ESC, BEL, BS, FF, DEL and
/// the C1 controls) when `on`; passes text through otherwise.
struct Sanitizing<'a, 'w> {
    inner: &'a mut Writer<'w>,
    on: bool,
}

impl<'a, 'w> Sanitizing<'a, 'w> {
    fn new(inner: &'a mut Writer<'w>, on: bool) -> Self {
        Self { inner, on }
    }
}

impl fmt::Write for Sanitizing<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // C1 controls (U+0080..U+009F) are encoded as 0xC2 0x80..0x9F.
        if !self.on
            || !s
                .bytes()
                .any(|b| matches!(b, 0x07 | 0x08 | 0x0c | 0x1b | 0x7f | 0xc2))
        {
            return self.inner.write_str(s);
        }
        for ch in s.chars() {
            match ch {
                '\x1b' => self.inner.write_str("\\x1b")?,
                '\x07' => self.inner.write_str("\\x07")?,
                '\x08' => self.inner.write_str("\\x08")?,
                '\x0c' => self.inner.write_str("\\x0c")?,
                '\x7f' => self.inner.write_str("\\x7f")?,
                '\u{80}'..='\u{9f}' => write!(self.inner, "\\u{{{:x}}}", ch as u32)?,
                _ => self.inner.write_char(ch)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
