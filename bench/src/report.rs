//! The results as Markdown: what was run, the comparison table, footprint, build
//! times, and each target met or missed (also drawn by chart.rs).

use std::fmt::Write;
use std::time::Duration;

use crate::builds::Sample;
use crate::compare::Comparison;
use crate::load::{Endpoint, Transport};
use crate::settings::{Settings, cores};

/// Targets from issues #7 and #16, read off the report (never asserted by a test).
const MIN_THROUGHPUT_RATIO: f64 = 0.75;
const MAX_P99_RATIO: f64 = 1.3;
const MIN_FAIR_RATIO: f64 = 0.90;
const MAX_IDLE_RSS: u64 = 15_000_000;
const MAX_LOADED_RSS_RATIO: f64 = 1.5;
const MAX_START: Duration = Duration::from_millis(50);

/// Memory and start-up of one server.
#[derive(Debug, Clone, Copy)]
pub struct Footprint {
    /// Median time from spawn to the first `200` of `GET /helloworld/bench`, when
    /// timed.
    pub start: Option<Duration>,
    pub idle_rss: u64,
    /// Right after the SQLite and health rows.
    pub loaded_rss: u64,
    /// 11 s or more later (one `server.trim_memory_every` of the sample).
    pub settled_rss: u64,
}

/// Everything one run measured.
pub struct Report<'a> {
    pub settings: &'a Settings,
    pub sample: &'a Sample,
    pub comparisons: Vec<Comparison>,
    pub sample_footprint: Footprint,
    pub bare_footprint: Footprint,
    pub peer_footprint: Footprint,
    /// /proc/loadavg's 1-minute figure at the end of the run.
    pub load_average: Option<f64>,
}

/// One target: what was measured against its limit.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    /// `None` when the row was skipped.
    pub measured: Option<f64>,
    pub limit: f64,
    /// Met when `measured >= limit` (a floor) rather than `<=` (a ceiling).
    pub floor: bool,
    /// The measured value as the report prints it, or why it was skipped.
    pub shown: String,
}

impl Target {
    /// `None` when not measured.
    pub fn met(&self) -> Option<bool> {
        self.measured.map(|measured| {
            if self.floor {
                measured >= self.limit
            } else {
                measured <= self.limit
            }
        })
    }
}

impl Report<'_> {
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        self.header(&mut out);
        self.throughput(&mut out);
        self.footprint(&mut out);
        self.builds(&mut out);
        self.targets_table(&mut out);
        out
    }

    fn header(&self, out: &mut String) {
        let settings = self.settings;
        let _ = writeln!(
            out,
            "# strata benchmark: the generated sample against bare axum/tonic and a hand-written peer\n"
        );
        let _ = writeln!(
            out,
            "Written by `make bench` (docs/bench.md says how to read it).\n"
        );
        let _ = writeln!(
            out,
            "- machine: {} cores ({}); {}; load average {} at the end of the run \
             (other work on the machine: above ~2 the figures are noisy)",
            cores(),
            cpu_model(),
            if settings.pin {
                "servers pinned to core 0, load generators to core 1"
            } else {
                "nothing pinned"
            },
            self.load_average
                .map_or_else(|| "unknown".to_owned(), |load| format!("{load:.1}"))
        );
        let _ = writeln!(
            out,
            "- load: HTTP `wrk -t2 -c{}`, gRPC unary `h2load -c{} -m{}`; {} s warm-up, then {} s measured; \
             {} rounds, the servers taking turns; figures are the means of the rounds",
            settings.http_connections,
            settings.grpc_connections,
            settings.grpc_streams,
            settings.warmup.as_secs(),
            settings.duration.as_secs(),
            settings.rounds
        );
        let _ = writeln!(
            out,
            "- sample: `{}` generated with every default (SQLite), and with `-d database=postgres` \
             for the PostgreSQL rows; release build (fat LTO), its own configs/config.yaml: the \
             full middleware chain, logs at `info` to stdout and to a rolling JSON file, \
             OpenTelemetry spans (no collector){}",
            crate::builds::SAMPLE,
            overrides()
        );
        let _ = writeln!(
            out,
            "- bare: axum and tonic serving the same replies (bench/src/bin/bare.rs): no \
             middleware, no logs; its SayHello runs the sample's SQL in the sample's transaction \
             on the same database, pool size and pragmas (bench/src/greetings.rs)"
        );
        let _ = writeln!(
            out,
            "- peer: axum + tower-http as a team would write it (bench/src/bin/peer.rs): \
             TraceLayer, x-request-id, JSON logs to stdout and a daily file (tracing-appender), \
             metrics-exporter-prometheus, tracing-opentelemetry with no exporter; HTTP health only\n"
        );
    }

    fn throughput(&self, out: &mut String) {
        let _ = writeln!(out, "## Throughput and latency\n");
        let _ = writeln!(
            out,
            "| transport | endpoint | sample req/s | bare req/s | sample ÷ bare | peer req/s | peer ÷ bare | sample p50 ms | bare p50 ms | sample p99 ms | bare p99 ms | peer p99 ms | p99 sample ÷ bare | errors |"
        );
        let _ = writeln!(
            out,
            "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
        );
        for comparison in &self.comparisons {
            if let Some(reason) = &comparison.skipped {
                let _ = writeln!(
                    out,
                    "| {} | {} | {reason} | | | | | | | | | | | |",
                    comparison.transport.label(),
                    comparison.label()
                );
                continue;
            }
            let (sample, bare) = (comparison.sample_mean(), comparison.bare_mean());
            let peer = comparison.peer_mean();
            let or_dash = |value: Option<f64>, decimals: usize| {
                value.map_or_else(|| "—".to_owned(), |value| format!("{value:.decimals$}"))
            };
            let _ = writeln!(
                out,
                "| {} | {} | {:.0} | {:.0} | {:.2} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {:.2} | {} |",
                comparison.transport.label(),
                comparison.label(),
                sample.requests_per_sec,
                bare.requests_per_sec,
                sample.requests_per_sec / bare.requests_per_sec,
                or_dash(peer.map(|peer| peer.requests_per_sec), 0),
                or_dash(
                    peer.map(|peer| peer.requests_per_sec / bare.requests_per_sec),
                    2
                ),
                sample.p50_ms,
                bare.p50_ms,
                sample.p99_ms,
                bare.p99_ms,
                or_dash(peer.map(|peer| peer.p99_ms), 2),
                sample.p99_ms / bare.p99_ms,
                errors(comparison)
            );
        }
        let _ = writeln!(
            out,
            "\nThe health rows measure the transports and the middleware chain alone (no \
             handler work). The SayHello rows are fair: on both sides each call is one \
             transaction (BEGIN, insert the greeting, upsert its count returning the new \
             value, COMMIT) on the same database, so their ratio is what the framework \
             costs on a real request path. Errors: failed requests (sample / bare / peer), \
             non-2xx for HTTP, failed streams and non-OK gRPC statuses (from the sample's \
             `/metrics`, less the calls h2load cancels when its time is up) for gRPC.\n"
        );
    }

    fn footprint(&self, out: &mut String) {
        let (sample, bare, peer) = (
            self.sample_footprint,
            self.bare_footprint,
            self.peer_footprint,
        );
        let start = |footprint: Footprint| footprint.start.map_or_else(String::new, millis);
        let _ = writeln!(out, "## Footprint\n");
        let _ = writeln!(out, "| | sample | bare | peer |\n|---|--:|--:|--:|");
        let _ = writeln!(
            out,
            "| start → first successful `GET /helloworld/bench` (median of {}) | {} | {} | {} |",
            self.settings.starts,
            start(sample),
            start(bare),
            start(peer)
        );
        let mut rss_row = |what: &str, value: fn(&Footprint) -> u64| {
            let _ = writeln!(
                out,
                "| {what} | {} | {} | {} |",
                megabytes(value(&sample)),
                megabytes(value(&bare)),
                megabytes(value(&peer))
            );
        };
        rss_row("idle RSS (after one request)", |f| f.idle_rss);
        rss_row("RSS right after the load (health and SQLite rows)", |f| {
            f.loaded_rss
        });
        rss_row("RSS 11 s or more after the load", |f| f.settled_rss);
        let _ = writeln!(
            out,
            "| release binary, stripped (as built) | {} ({}) | | |\n",
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

    /// The peer's HTTP health req/s ÷ bare and the sample's floor for it, when the
    /// peer ran.
    pub fn peer_health_ratio(&self) -> Option<(f64, f64)> {
        let row = self.comparisons.iter().find(|comparison| {
            comparison.endpoint == Endpoint::Health && comparison.transport == Transport::Http
        })?;
        let peer = row.peer_mean()?;
        Some((
            peer.requests_per_sec / row.bare_mean().requests_per_sec,
            MIN_THROUGHPUT_RATIO,
        ))
    }

    /// Every target with what was measured, in the order of the report.
    pub fn targets(&self) -> Vec<Target> {
        let mut targets = Vec::new();
        // The targets hold the sample as generated; the image-logs rows are context.
        for comparison in self.comparisons.iter().filter(|row| !row.image_logs) {
            let transport = comparison.transport.label();
            let skipped = comparison.skipped.clone().unwrap_or_default();
            let shown = |ratio: Option<f64>| {
                ratio.map_or_else(|| skipped.clone(), |ratio| format!("{ratio:.2}"))
            };
            match comparison.endpoint {
                Endpoint::Health => {
                    let ratio = comparison.throughput_ratio();
                    targets.push(Target {
                        name: format!(
                            "{transport} health req/s ≥ {MIN_THROUGHPUT_RATIO:.2} × bare"
                        ),
                        measured: ratio,
                        limit: MIN_THROUGHPUT_RATIO,
                        floor: true,
                        shown: shown(ratio),
                    });
                    let ratio = comparison.p99_ratio();
                    targets.push(Target {
                        name: format!("{transport} health p99 ≤ {MAX_P99_RATIO} × bare"),
                        measured: ratio,
                        limit: MAX_P99_RATIO,
                        floor: false,
                        shown: shown(ratio),
                    });
                }
                Endpoint::SayHello => {
                    let ratio = comparison.throughput_ratio();
                    targets.push(Target {
                        name: format!(
                            "{transport} {} req/s ≥ {MIN_FAIR_RATIO:.2} × fair bare",
                            comparison.label()
                        ),
                        measured: ratio,
                        limit: MIN_FAIR_RATIO,
                        floor: true,
                        shown: shown(ratio),
                    });
                }
            }
        }
        let footprint = self.sample_footprint;
        targets.push(Target {
            name: format!("idle RSS ≤ {}", megabytes(MAX_IDLE_RSS)),
            measured: Some(footprint.idle_rss as f64 / 1e6),
            limit: MAX_IDLE_RSS as f64 / 1e6,
            floor: false,
            shown: megabytes(footprint.idle_rss),
        });
        for (when, rss) in [
            ("right after the load", footprint.loaded_rss),
            ("11 s after the load", footprint.settled_rss),
        ] {
            let ratio = rss as f64 / footprint.idle_rss as f64;
            targets.push(Target {
                name: format!("RSS {when} ≤ {MAX_LOADED_RSS_RATIO} × idle"),
                measured: Some(ratio),
                limit: MAX_LOADED_RSS_RATIO,
                floor: false,
                shown: format!("{ratio:.2} ({})", megabytes(rss)),
            });
        }
        if let Some(start) = footprint.start {
            targets.push(Target {
                name: format!("start → first successful request ≤ {}", millis(MAX_START)),
                measured: Some(start.as_secs_f64() * 1000.0),
                limit: MAX_START.as_secs_f64() * 1000.0,
                floor: false,
                shown: millis(start),
            });
        }
        targets
    }

    fn targets_table(&self, out: &mut String) {
        let _ = writeln!(out, "## Targets\n");
        let _ = writeln!(out, "| target | measured | met |\n|---|--:|:-:|");
        for target in self.targets() {
            let met = match target.met() {
                Some(true) => "met",
                Some(false) => "**missed**",
                None => "skipped",
            };
            let _ = writeln!(out, "| {} | {} | {met} |", target.name, target.shown);
        }
    }
}

/// "3 / 0 / 0": the errors of the sample, bare and (where it ran) the peer.
fn errors(comparison: &Comparison) -> String {
    let (sample, bare) = (comparison.sample_mean(), comparison.bare_mean());
    match comparison.peer_mean() {
        Some(peer) => format!("{} / {} / {}", sample.errors, bare.errors, peer.errors),
        None => format!("{} / {}", sample.errors, bare.errors),
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
