//! `respawn-webhook` binary: parse the configuration, set up logging, run the library.

use std::io::IsTerminal;

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = respawn_webhook::config::Config::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RESPAWN_WEBHOOK_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_writer(std::io::stderr)
        .init();
    respawn_webhook::run(config).await
}
