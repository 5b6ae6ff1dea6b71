//! Logs: tracing-subscriber's own formats — its default text format (ANSI colours only on a
//! terminal) or, with `--log-format json`, one JSON object per line — filtered by
//! `RESPAWN_WEBHOOK_LOG` (an `EnvFilter`, default `info`), written to stderr.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Log line formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// tracing-subscriber's default human-readable line.
    Text,
    /// One JSON object per line (for log pipelines).
    Json,
}

/// Installs the global subscriber (default level `info`).
pub fn init(format: LogFormat) {
    init_with_default(format, "info")
}

/// Installs the global subscriber; `default` is the filter without `RESPAWN_WEBHOOK_LOG`
/// (`respawn-webhook inject` uses `warn`: its own report is what users read).
pub fn init_with_default(format: LogFormat, default: &str) {
    let filter = EnvFilter::try_from_env("RESPAWN_WEBHOOK_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => {
            let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            builder.with_ansi(ansi).init()
        }
    }
}
