//! `respawn-webhook` binary: parse the configuration, set up logging, run the library.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = respawn_webhook::config::Config::parse();
    respawn_webhook::server::logs::init(config.log_format);
    respawn_webhook::run(config).await
}
