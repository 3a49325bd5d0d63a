use std::path::PathBuf;

use clap::{Parser, Subcommand};

// The composition root (src/lib.rs) under one short name, whatever the service's.
use {{crate_name}} as app;

/// {{description}}
#[derive(Debug, Parser)]
#[command(version, about)]
struct Flags {
    /// The config file, or a directory whose YAML files are merged in name order.
    /// Environment variables override it
    /// (`{{crate_name | upcase}}__SERVER__HTTP__ADDR=0.0.0.0:8080`).
    #[arg(long, default_value = "configs/config.yaml")]
    conf: PathBuf,
    /// Also merge `config.<ENV>.yaml` from beside the config file.
    #[arg(long, env = "APP_ENV")]
    env: Option<String>,
    /// Override one setting, e.g. `--set log.level=debug`; wins over everything.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
    /// Print the effective configuration (secrets redacted) and exit.
    #[arg(long)]
    print_config: bool,
    /// Validate the configuration and exit: 0 when valid, 1 when not.
    #[arg(long)]
    check_config: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply the database migrations the binary carries, then exit.
    Migrate,
}

impl Flags {
    /// Where the configuration comes from, as the flags say.
    fn sources(&self) -> conf::Sources {
        conf::Sources {
            conf: self.conf.clone(),
            env: self.env.clone(),
            env_prefix: conf::env_prefix(env!("CARGO_PKG_NAME")),
            overrides: self.overrides.clone(),
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let flags = Flags::parse();
    let sources = flags.sources();
    let conf = conf::load(&sources)?;
    if flags.print_config {
        println!("{}", conf::redacted(&conf));
        return Ok(());
    }
    if flags.check_config {
        println!("configuration is valid");
        return Ok(());
    }
    let telemetry = app::telemetry(&conf)?;
    let outcome = match flags.command {
        Some(Command::Migrate) => app::migrate(&conf).await,
        None => serve(sources, &conf, &telemetry).await,
    };
    telemetry.shutdown().await;
    outcome
}

/// Runs the service, reloading what can be reloaded when the config changes.
async fn serve(
    sources: conf::Sources,
    conf: &conf::Bootstrap,
    telemetry: &strata::telemetry::Telemetry,
) -> anyhow::Result<()> {
    let _watcher = app::watch_config(sources, conf, telemetry.levels())?;
    let app = app::wire(conf).await?;
    Ok(app.run().await?)
}
