use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// {{description}}
#[derive(Debug, Parser)]
#[command(version, about)]
struct Flags {
    /// The config file; environment variables override it
    /// (`{{crate_name | upcase}}__SERVER__HTTP__ADDR=0.0.0.0:8080`).
    #[arg(long, default_value = "configs/config.yaml")]
    conf: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply the database migrations the binary carries, then exit.
    Migrate,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let flags = Flags::parse();
    let conf = conf::load(&flags.conf, &conf::env_prefix(env!("CARGO_PKG_NAME")))?;
    let telemetry = platform::telemetry::init({{crate_name}}::telemetry_options(&conf))
        .map_err(anyhow::Error::msg)?;
    let outcome = match flags.command {
        Some(Command::Migrate) => {{crate_name}}::migrate(&conf).await,
        None => match {{crate_name}}::wire(&conf).await {
            Ok(app) => app.run().await.map_err(anyhow::Error::from),
            Err(err) => Err(err),
        },
    };
    telemetry.shutdown().await;
    outcome
}
