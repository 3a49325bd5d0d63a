//! `make bench`: generates the sample service, builds it and the bare baselines,
//! drives both with the same load, alternately, and writes bench/results.md and
//! bench/results.svg. Knobs: `BENCH_*` environment variables (docs/bench.md).

mod builds;
mod chart;
mod compare;
mod load;
mod report;
mod server;
mod settings;

use std::time::Duration;

use anyhow::{Context, bail};

use crate::builds::SAMPLE;
use crate::report::{Footprint, Report};
use crate::server::{Launch, Server};
use crate::settings::Settings;

fn main() -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    server::fresh_dir(&settings.workdir)?;
    let bare_binary = std::env::current_exe()?.with_file_name("bare");
    if !bare_binary.exists() {
        bail!(
            "{} is missing: `cargo build --release` in bench/ first (make bench does)",
            bare_binary.display()
        );
    }

    let sample = builds::sample(&settings)?;
    let sample_launch = Launch {
        name: "sample",
        binary: sample.binary.clone(),
        args: vec![
            "--conf".into(),
            sample
                .repo
                .join("configs/config.yaml")
                .display()
                .to_string(),
        ],
        env: vec![
            (env_key("SERVER__HTTP__ADDR"), "127.0.0.1:18080".into()),
            (env_key("SERVER__GRPC__ADDR"), "127.0.0.1:19090".into()),
        ],
        dir: settings.workdir.join("run-sample"),
        http: "127.0.0.1:18080".parse()?,
        grpc: "127.0.0.1:19090".parse()?,
        pin: settings.pin,
    };
    let bare_launch = Launch {
        name: "bare",
        binary: bare_binary,
        args: vec!["127.0.0.1:18081".into(), "127.0.0.1:19091".into()],
        env: Vec::new(),
        dir: settings.workdir.join("run-bare"),
        http: "127.0.0.1:18081".parse()?,
        grpc: "127.0.0.1:19091".parse()?,
        pin: settings.pin,
    };

    println!("timing {} starts of each server", settings.starts);
    let sample_starts = server::start_times(&sample_launch, settings.starts)?;
    let bare_starts = server::start_times(&bare_launch, settings.starts)?;

    let sample_server = Server::start(&sample_launch)?;
    let bare_server = Server::start(&bare_launch)?;
    same_reply(&sample_server, &bare_server)?;
    std::thread::sleep(Duration::from_secs(1));
    let idle = (sample_server.rss_bytes()?, bare_server.rss_bytes()?);

    let comparisons = compare::all(&settings, &sample_server, &bare_server)?;

    let loaded = (sample_server.rss_bytes()?, bare_server.rss_bytes()?);
    let report = Report {
        settings: &settings,
        sample: &sample,
        comparisons,
        sample_footprint: Footprint {
            start: median(sample_starts),
            idle_rss: idle.0,
            loaded_rss: loaded.0,
        },
        bare_footprint: Footprint {
            start: median(bare_starts),
            idle_rss: idle.1,
            loaded_rss: loaded.1,
        },
    };
    let markdown = report.markdown();
    println!("\n{markdown}");
    let results = settings.repo.join("bench");
    std::fs::write(results.join("results.md"), &markdown)?;
    std::fs::write(results.join("results.svg"), chart::svg(&report.comparisons))?;
    println!("written: bench/results.md, bench/results.svg");
    Ok(())
}

/// `HELLO_BENCH__<KEY>`: the sample's environment override of one setting.
fn env_key(key: &str) -> String {
    format!("{}__{key}", SAMPLE.replace('-', "_").to_uppercase())
}

/// The baseline must answer what the sample answers, or the comparison is moot.
fn same_reply(sample: &Server, bare: &Server) -> anyhow::Result<()> {
    for path in ["/helloworld/bench", "/healthz"] {
        let (ours, theirs) = (sample.get(path)?, bare.get(path)?);
        let parse = |body: &str| serde_json::from_str::<serde_json::Value>(body);
        if parse(&ours).context("sample reply")? != parse(&theirs).context("bare reply")? {
            bail!("GET {path}: the sample answers {ours} but the baseline {theirs}");
        }
    }
    Ok(())
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or_default()
}
