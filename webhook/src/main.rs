//! `respawn-webhook` binary: parse the configuration, set up logging, run the library — the
//! webhook server, or with the `inject` subcommand the offline injection.

use std::process::ExitCode;

use clap::Parser;
use respawn_webhook::config::{Command, Config};
use respawn_webhook::server::logs::{self, LogFormat};

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let config = Config::parse();
    match config.command {
        Some(Command::Inject(args)) => {
            logs::init_with_default(LogFormat::Text, "warn");
            respawn_webhook::offline::run(args).await
        }
        None => {
            logs::init(config.log_format);
            respawn_webhook::run(config).await.map(|()| ExitCode::SUCCESS)
        }
    }
}
