//! The results as Markdown: what was run, the comparison table, footprint, build
//! times, and each target met or missed.

use std::fmt::Write;
use std::time::Duration;

use crate::builds::Sample;
use crate::compare::Comparison;
use crate::load::Endpoint;
use crate::settings::{Settings, cores};

/// Targets from issue #7, read off the report (never asserted by a test).
const MIN_THROUGHPUT_RATIO: f64 = 0.90;
const MAX_P99_RATIO: f64 = 1.3;
const MAX_IDLE_RSS: u64 = 15_000_000;
const MAX_START: Duration = Duration::from_millis(50);

/// Memory and start-up of one server.
#[derive(Debug, Clone, Copy)]
pub struct Footprint {
    /// Median time from spawn to the first `200` of `GET /helloworld/bench`.
    pub start: Duration,
    pub idle_rss: u64,
    pub loaded_rss: u64,
}

/// Everything one run measured.
pub struct Report<'a> {
    pub settings: &'a Settings,
    pub sample: &'a Sample,
    pub comparisons: Vec<Comparison>,
    pub sample_footprint: Footprint,
    pub bare_footprint: Footprint,
}

impl Report<'_> {
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        self.header(&mut out);
        self.throughput(&mut out);
        self.footprint(&mut out);
        self.builds(&mut out);
        self.targets(&mut out);
        out
    }

    fn header(&self, out: &mut String) {
        let settings = self.settings;
        let _ = writeln!(
            out,
            "# strata benchmark: the generated sample against bare axum and tonic\n"
        );
        let _ = writeln!(
            out,
            "Written by `make bench` (docs/bench.md says how to read it).\n"
        );
        let _ = writeln!(
            out,
            "- machine: {} cores ({}); {}",
            cores(),
            cpu_model(),
            if settings.pin {
                "servers pinned to core 0, load generators to core 1"
            } else {
                "nothing pinned"
            }
        );
        let _ = writeln!(
            out,
            "- load: HTTP `wrk -t2 -c{}`, gRPC unary `h2load -c{} -m{}`; {} s warm-up, then {} s measured; \
             {} rounds, sample and bare taking turns; figures are the means of the rounds",
            settings.http_connections,
            settings.grpc_connections,
            settings.grpc_streams,
            settings.warmup.as_secs(),
            settings.duration.as_secs(),
            settings.rounds
        );
        let _ = writeln!(
            out,
            "- sample: `{}` generated with every default (SQLite), release build, its own \
             configs/config.yaml: the full middleware chain, logs at `info` to stdout and to a \
             rolling JSON file, OpenTelemetry spans (no collector){}",
            crate::builds::SAMPLE,
            overrides()
        );
        let _ = writeln!(
            out,
            "- bare: axum and tonic serving the same replies (bench/src/bin/bare.rs): no \
             middleware, no logs, no database\n"
        );
    }

    fn throughput(&self, out: &mut String) {
        let _ = writeln!(out, "## Throughput and latency\n");
        let _ = writeln!(
            out,
            "| transport | endpoint | sample req/s | bare req/s | ratio | sample p50 ms | bare p50 ms | sample p99 ms | bare p99 ms | p99 ratio | errors |"
        );
        let _ = writeln!(out, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        for comparison in &self.comparisons {
            let (sample, bare) = (comparison.sample_mean(), comparison.bare_mean());
            let _ = writeln!(
                out,
                "| {} | {} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {} / {} |",
                comparison.transport.label(),
                comparison.endpoint.label(),
                sample.requests_per_sec,
                bare.requests_per_sec,
                sample.requests_per_sec / bare.requests_per_sec,
                sample.p50_ms,
                bare.p50_ms,
                sample.p99_ms,
                bare.p99_ms,
                sample.p99_ms / bare.p99_ms,
                sample.errors,
                bare.errors
            );
        }
        let _ = writeln!(
            out,
            "\nSayHello in the sample writes to SQLite (a transaction: insert + upsert + select); \
             the bare server only formats the reply. The health rows measure the transports and \
             the middleware chain alone. Errors: failed requests (sample / bare), non-2xx for HTTP, \
             failed streams and non-OK gRPC statuses (from the sample's `/metrics`, less the calls h2load cancels when its time is up) for gRPC.\n"
        );
    }

    fn footprint(&self, out: &mut String) {
        let (sample, bare) = (self.sample_footprint, self.bare_footprint);
        let _ = writeln!(out, "## Footprint\n");
        let _ = writeln!(out, "| | sample | bare |\n|---|--:|--:|");
        let _ = writeln!(
            out,
            "| start → first successful `GET /helloworld/bench` (median of {}) | {} | {} |",
            self.settings.starts,
            millis(sample.start),
            millis(bare.start)
        );
        let _ = writeln!(
            out,
            "| idle RSS (after one request) | {} | {} |",
            megabytes(sample.idle_rss),
            megabytes(bare.idle_rss)
        );
        let _ = writeln!(
            out,
            "| RSS after the load | {} | {} |",
            megabytes(sample.loaded_rss),
            megabytes(bare.loaded_rss)
        );
        let _ = writeln!(
            out,
            "| release binary, stripped (as built) | {} ({}) | |\n",
            megabytes(self.sample.stripped_bytes),
            megabytes(self.sample.binary_bytes)
        );
    }

    fn builds(&self, out: &mut String) {
        let sample = self.sample;
        let _ = writeln!(out, "## Generating and building the sample\n");
        let _ = writeln!(out, "| step | time |\n|---|--:|");
        let _ = writeln!(out, "| `cargo generate` | {} |", seconds(sample.generate));
        let _ = writeln!(
            out,
            "| cold debug build (fresh target directory) | {} |",
            sample
                .cold_debug_build
                .map_or_else(|| "skipped (`BENCH_SKIP_COLD_BUILD`)".to_owned(), seconds)
        );
        let _ = writeln!(
            out,
            "| debug rebuild after editing internal/biz/src/greeter.rs | {} |",
            seconds(sample.rebuild_after_biz_edit)
        );
        let _ = writeln!(
            out,
            "| release build (dependencies possibly cached in `CARGO_TARGET_DIR`) | {} |\n",
            seconds(sample.release_build)
        );
    }

    fn targets(&self, out: &mut String) {
        let _ = writeln!(out, "## Targets\n");
        let _ = writeln!(out, "| target | measured | met |\n|---|--:|:-:|");
        let mut row = |target: String, measured: String, met: bool| {
            let _ = writeln!(
                out,
                "| {target} | {measured} | {} |",
                if met { "yes" } else { "**no**" }
            );
        };
        for comparison in self
            .comparisons
            .iter()
            .filter(|c| c.endpoint == Endpoint::Health)
        {
            let (sample, bare) = (comparison.sample_mean(), comparison.bare_mean());
            let ratio = sample.requests_per_sec / bare.requests_per_sec;
            row(
                format!(
                    "{} req/s ≥ {MIN_THROUGHPUT_RATIO:.2} × bare (transport only)",
                    comparison.transport.label()
                ),
                format!("{ratio:.2}"),
                ratio >= MIN_THROUGHPUT_RATIO,
            );
            let ratio = sample.p99_ms / bare.p99_ms;
            row(
                format!(
                    "{} p99 ≤ {MAX_P99_RATIO} × bare (transport only)",
                    comparison.transport.label()
                ),
                format!("{ratio:.2}"),
                ratio <= MAX_P99_RATIO,
            );
        }
        let footprint = self.sample_footprint;
        row(
            format!("idle RSS ≤ {}", megabytes(MAX_IDLE_RSS)),
            megabytes(footprint.idle_rss),
            footprint.idle_rss <= MAX_IDLE_RSS,
        );
        row(
            format!("start → first successful request ≤ {}", millis(MAX_START)),
            millis(footprint.start),
            footprint.start <= MAX_START,
        );
    }
}

/// The sample's settings changed for this run through `HELLO_BENCH__*` variables.
fn overrides() -> String {
    let prefix = format!(
        "{}__",
        crate::builds::SAMPLE.replace('-', "_").to_uppercase()
    );
    let mut set: Vec<String> = std::env::vars()
        .filter(|(key, _)| key.starts_with(&prefix))
        .map(|(key, value)| format!("`{key}={value}`"))
        .collect();
    set.sort();
    if set.is_empty() {
        String::new()
    } else {
        format!("; overridden: {}", set.join(", "))
    }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|line| {
                line.strip_prefix("model name")?
                    .split_once(':')
                    .map(|(_, model)| model.trim().to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn millis(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

fn seconds(duration: Duration) -> String {
    format!("{:.1} s", duration.as_secs_f64())
}

/// Decimal megabytes, as the targets are stated.
fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}
