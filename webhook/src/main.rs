//! `respawn-webhook` binary: parse the configuration, set up logging, run the library.

use std::io::IsTerminal;

use clap::Parser;

// mimalloc: a review allocates a few hundred small objects (parsed strings, JSON patch values);
// with glibc malloc, allocation and free were about a quarter of the instructions per review.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = respawn_webhook::config::Config::parse();
    respawn_webhook::logfmt::init(
        tracing_subscriber::EnvFilter::try_from_env("RESPAWN_WEBHOOK_LOG")
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        std::io::stderr,
    );
    respawn_webhook::run(config).await
}
