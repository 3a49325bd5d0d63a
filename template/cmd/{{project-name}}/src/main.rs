use std::path::PathBuf;

use clap::Parser;

/// {{description}}
#[derive(Debug, Parser)]
#[command(version, about)]
struct Flags {
    /// The config file; environment variables override it
    /// (`{{crate_name | upcase}}__SERVER__HTTP__ADDR=0.0.0.0:8080`).
    #[arg(long, default_value = "configs/config.yaml")]
    conf: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let flags = Flags::parse();
    let conf = conf::load(&flags.conf, &conf::env_prefix(env!("CARGO_PKG_NAME")))?;
    let telemetry = platform::telemetry::init({{crate_name}}::telemetry_options(&conf))
        .map_err(anyhow::Error::msg)?;
    let app = {{crate_name}}::wire(&conf).await?;
    let served = app.run().await;
    telemetry.shutdown().await;
    Ok(served?)
}
