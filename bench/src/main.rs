//! `make bench`: generates the sample service (SQLite, and PostgreSQL when one is
//! reachable), builds it, the bare baselines and the hand-written peer, drives them
//! with the same load, taking turns, and writes bench/results.md and
//! bench/results.svg. Knobs: `BENCH_*` environment variables (docs/bench.md).

mod builds;
mod chart;
mod compare;
mod load;
mod report;
mod server;
mod settings;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::builds::{Database, SAMPLE};
use crate::compare::{Comparison, Contenders};
use crate::load::{Endpoint, Transport};
use crate::report::{Footprint, Report};
use crate::server::{Launch, Server};
use crate::settings::Settings;

fn main() -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    server::fresh_dir(&settings.workdir)?;
    let bare_binary = sibling("bare")?;
    let peer_binary = sibling("peer")?;

    // The PostgreSQL rows need a server; without one they say so and the rest runs.
    let postgres = prepare_postgres(&settings, &bare_binary);
    let sample = builds::sample(&settings)?;
    let postgres_sample = match &postgres {
        Ok(()) => Some(builds::postgres_sample(&settings)?),
        Err(_) => None,
    };

    let sample_run = sample_launch(&settings, &sample.repo, sample.binary.clone(), "sample", 0)?;
    let bare_run = bare_launch(&settings, &bare_binary, "bare", 1, "sqlite://bare.db")?;
    let peer_launch = Launch {
        name: "peer",
        binary: peer_binary,
        args: vec!["127.0.0.1:18082".into()],
        env: Vec::new(),
        dir: settings.workdir.join("run-peer"),
        http: "127.0.0.1:18082".parse()?,
        grpc: None,
        pin: settings.pin,
    };

    println!("timing {} starts of each server", settings.starts);
    let sample_starts = server::start_times(&sample_run, settings.starts)?;
    let bare_starts = server::start_times(&bare_run, settings.starts)?;

    let sample_server = Server::start(&sample_run)?;
    let bare_server = Server::start(&bare_run)?;
    let peer_server = Server::start(&peer_launch)?;
    same_reply(&sample_server, &bare_server)?;
    same_reply(&sample_server, &peer_server)?;
    std::thread::sleep(Duration::from_secs(1));
    let idle = [&sample_server, &bare_server, &peer_server].map(|server| server.rss_bytes());

    let mut comparisons = vec![
        Comparison::new(Transport::Http, Endpoint::Health, None),
        Comparison::new(Transport::Grpc, Endpoint::Health, None),
        Comparison::new(Transport::Http, Endpoint::SayHello, Some(Database::Sqlite)),
        Comparison::new(Transport::Grpc, Endpoint::SayHello, Some(Database::Sqlite)),
    ];
    let contenders = Contenders {
        sample: &sample_server,
        bare: &bare_server,
        peer: Some(&peer_server),
    };
    compare::run(&settings, &contenders, &mut comparisons)?;
    let loaded_at = Instant::now();
    let loaded = [&sample_server, &bare_server, &peer_server].map(|server| server.rss_bytes());

    // Health again with the sample logging as deploy/Dockerfile sets it: one sink.
    let mut image_launch = sample_launch(
        &settings,
        &sample.repo,
        sample.binary.clone(),
        "sample-image-logs",
        5,
    )?;
    image_launch.env.extend([
        (env_key("LOG__FORMAT"), "json".to_owned()),
        (env_key("LOG__FILE__ENABLED"), "false".to_owned()),
    ]);
    let image_server = Server::start(&image_launch)?;
    let mut image_rows = vec![
        Comparison::new(Transport::Http, Endpoint::Health, None).with_image_logs(),
        Comparison::new(Transport::Grpc, Endpoint::Health, None).with_image_logs(),
    ];
    let contenders = Contenders {
        sample: &image_server,
        bare: &bare_server,
        peer: None,
    };
    compare::run(&settings, &contenders, &mut image_rows)?;
    drop(image_server);
    // Shown right under the as-generated health rows.
    comparisons.splice(2..2, image_rows);

    let mut postgres_rows = vec![
        Comparison::new(
            Transport::Http,
            Endpoint::SayHello,
            Some(Database::Postgres),
        ),
        Comparison::new(
            Transport::Grpc,
            Endpoint::SayHello,
            Some(Database::Postgres),
        ),
    ];
    match (&postgres, postgres_sample) {
        (Ok(()), Some((repo, binary))) => {
            let url = with_schema(&settings.postgres_url, SAMPLE_SCHEMA);
            let mut launch = sample_launch(&settings, &repo, binary, "sample-postgres", 3)?;
            launch.env.push((env_key("DATA__DATABASE__URL"), url));
            let sample_postgres = Server::start(&launch)?;
            let url = with_schema(&settings.postgres_url, BARE_SCHEMA);
            let bare_postgres = Server::start(&bare_launch(
                &settings,
                &bare_binary,
                "bare-postgres",
                4,
                &url,
            )?)?;
            same_reply(&sample_postgres, &bare_postgres)?;
            let contenders = Contenders {
                sample: &sample_postgres,
                bare: &bare_postgres,
                peer: None,
            };
            compare::run(&settings, &contenders, &mut postgres_rows)?;
        }
        _ => {
            let reason = match &postgres {
                Err(reason) => format!("{reason:#}"),
                Ok(()) => "not built".to_owned(),
            };
            for row in &mut postgres_rows {
                row.skipped = Some(format!(
                    "skipped: no PostgreSQL at {} ({reason})",
                    settings.postgres_url
                ));
            }
        }
    }
    comparisons.extend(postgres_rows);

    // One `server.trim_memory_every` (10 s) after the load: what the sample keeps.
    let settle = Duration::from_secs(11).saturating_sub(loaded_at.elapsed());
    std::thread::sleep(settle);
    let settled = [&sample_server, &bare_server, &peer_server].map(|server| server.rss_bytes());

    let footprint = |index: usize, starts: Option<Vec<Duration>>| -> anyhow::Result<Footprint> {
        Ok(Footprint {
            start: starts.map(median),
            idle_rss: rss(&idle[index])?,
            loaded_rss: rss(&loaded[index])?,
            settled_rss: rss(&settled[index])?,
        })
    };
    let report = Report {
        settings: &settings,
        sample: &sample,
        comparisons,
        sample_footprint: footprint(0, Some(sample_starts))?,
        bare_footprint: footprint(1, Some(bare_starts))?,
        peer_footprint: footprint(2, None)?,
        load_average: load_average(),
    };
    let markdown = report.markdown();
    println!("\n{markdown}");
    let results = settings.repo.join("bench");
    std::fs::write(results.join("results.md"), &markdown)?;
    std::fs::write(
        results.join("results.svg"),
        chart::svg(&report.targets(), report.peer_health_ratio()),
    )?;
    println!("written: bench/results.md, bench/results.svg");
    Ok(())
}

/// The schemas of the PostgreSQL rows in `BENCH_POSTGRES_URL`'s database, one per
/// server, dropped and recreated at the start of each run.
const SAMPLE_SCHEMA: &str = "strata_bench_sample";
const BARE_SCHEMA: &str = "strata_bench_bare";

/// A binary built beside this one (`cargo build --release --bins` in bench/).
fn sibling(name: &str) -> anyhow::Result<PathBuf> {
    let binary = std::env::current_exe()?.with_file_name(name);
    if !binary.exists() {
        bail!(
            "{} is missing: `cargo build --release --bins` in bench/ first (make bench does)",
            binary.display()
        );
    }
    Ok(binary)
}

/// Fresh schemas for the PostgreSQL rows, or why there can be none.
fn prepare_postgres(settings: &Settings, bare: &Path) -> anyhow::Result<()> {
    let output = std::process::Command::new(bare)
        .args([
            "prepare-postgres",
            &settings.postgres_url,
            SAMPLE_SCHEMA,
            BARE_SCHEMA,
        ])
        .output()?;
    if output.status.success() {
        Ok(())
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let reason = stderr.lines().find(|line| !line.trim().is_empty());
        let reason = reason.unwrap_or("bare prepare-postgres failed").trim();
        bail!("{}", reason.trim_start_matches("Error: "))
    }
}

/// `url` with the connections' `search_path` set to `schema` (sqlx's `options[...]`).
fn with_schema(url: &str, schema: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options[search_path]={schema}")
}

/// The sample at `repo` as generated, on ports 18080 + `slot` and 19090 + `slot`.
fn sample_launch(
    settings: &Settings,
    repo: &Path,
    binary: PathBuf,
    name: &'static str,
    slot: u16,
) -> anyhow::Result<Launch> {
    let http: SocketAddr = format!("127.0.0.1:{}", 18080 + slot).parse()?;
    let grpc: SocketAddr = format!("127.0.0.1:{}", 19090 + slot).parse()?;
    Ok(Launch {
        name,
        binary,
        args: vec![
            "--conf".into(),
            repo.join("configs/config.yaml").display().to_string(),
        ],
        env: vec![
            (env_key("SERVER__HTTP__ADDR"), http.to_string()),
            (env_key("SERVER__GRPC__ADDR"), grpc.to_string()),
        ],
        dir: settings.workdir.join(format!("run-{name}")),
        http,
        grpc: Some(grpc),
        pin: settings.pin,
    })
}

/// The bare server writing SayHello's greetings to `database`, on ports 18080 +
/// `slot` and 19090 + `slot`.
fn bare_launch(
    settings: &Settings,
    binary: &Path,
    name: &'static str,
    slot: u16,
    database: &str,
) -> anyhow::Result<Launch> {
    let http: SocketAddr = format!("127.0.0.1:{}", 18080 + slot).parse()?;
    let grpc: SocketAddr = format!("127.0.0.1:{}", 19090 + slot).parse()?;
    Ok(Launch {
        name,
        binary: binary.to_path_buf(),
        args: vec![http.to_string(), grpc.to_string(), database.to_owned()],
        env: Vec::new(),
        dir: settings.workdir.join(format!("run-{name}")),
        http,
        grpc: Some(grpc),
        pin: settings.pin,
    })
}

fn rss(measured: &anyhow::Result<u64>) -> anyhow::Result<u64> {
    measured
        .as_ref()
        .map(|bytes| *bytes)
        .map_err(|err| anyhow::anyhow!("reading RSS: {err:#}"))
}

/// The 1-minute load average when the run ended (other work on the machine).
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
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
