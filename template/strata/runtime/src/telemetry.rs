//! Logs and traces: tracing to stdout (pretty or JSON) and to a rolling JSON file,
//! with OpenTelemetry spans exported over OTLP/gRPC when an endpoint is set.

use std::io::IsTerminal;

use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing_appender::rolling::{RollingFileAppender, Rotation as Rolling};
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

mod lines;
mod log_filter;
mod otel_env;
mod per_call;
mod writer;

use lines::{Format, Lines};
use log_filter::LogFilter;
use per_call::PerCall;
use writer::{Flush, Sink};

use crate::config::{self, LogFormat, Rotation};
use crate::middleware::trace_context;

/// Keeps the background log writer and the span exporter alive; call
/// [`Telemetry::shutdown`] last, so buffered lines and spans are flushed.
#[must_use = "dropping it stops file logging; call shutdown() at exit"]
#[derive(Debug)]
pub struct Telemetry {
    stdout_writer: Flush,
    file_writer: Option<Flush>,
    tracer_provider: Option<SdkTracerProvider>,
    levels: LevelHandle,
}

/// Changes the log level of the running process.
#[derive(Debug, Clone)]
pub struct LevelHandle(log_filter::Reload);

impl LevelHandle {
    /// Filters by `level` from now on (`RUST_LOG`, when set, still wins).
    pub fn set(&self, level: &str) -> Result<(), String> {
        self.0
            .reload(filter(level)?)
            .map_err(|err| format!("cannot change the log level: {err}"))
    }
}

impl Telemetry {
    /// What changes the log level at runtime (config hot reload).
    pub fn levels(&self) -> LevelHandle {
        self.levels.clone()
    }

    /// Flushes pending spans (bounded by the exporter's timeout) and log lines.
    pub async fn shutdown(self) {
        if let Some(provider) = self.tracer_provider {
            // The SDK's shutdown blocks on its export thread.
            let flushed = tokio::task::spawn_blocking(move || provider.shutdown()).await;
            if let Ok(Err(err)) = flushed {
                tracing::warn!(%err, "could not flush spans");
            }
        }
        drop(self.file_writer);
        drop(self.stdout_writer);
    }
}

/// Installs the global tracing subscriber as `log` says and, when `trace` is given,
/// the OpenTelemetry pipeline (spans exported when `trace.endpoint` or
/// `OTEL_EXPORTER_OTLP_ENDPOINT` names a collector; trace ids in logs either way).
/// `service` is the binary's name and version: every span's `service.version`, and
/// its `service.name` when neither `trace.service_name` nor `OTEL_SERVICE_NAME` is set.
/// Must run inside the Tokio runtime (the OTLP exporter uses it).
pub fn init(
    log: &config::Log,
    trace: Option<&config::Trace>,
    service: (&str, &str),
) -> Result<Telemetry, String> {
    let export = trace
        .map(|trace| otel_env::resolve(trace, service.0, |name| std::env::var(name).ok()))
        .transpose()?;
    let (filter, levels) = LogFilter::new(filter(&log.level)?);
    // Lines are written by background threads: a request waits on the terminal
    // or the pipe behind stdout only when its sink is full (stdout never drops a
    // line; the file drops what finds it full).
    let (stdout, stdout_flush) = Sink::spawn("log-stdout", std::io::stdout(), false)
        .map_err(|err| format!("cannot start the stdout log writer: {err}"))?;
    let (file, file_flush) = match log.file.enabled.then_some(&log.file) {
        Some(file) => {
            let (sink, flush) = Sink::spawn("log-file", rolling_file(file)?, true)
                .map_err(|err| format!("cannot start the log file writer: {err}"))?;
            (Some(sink), Some(flush))
        }
        None => (None, None),
    };
    let stdout_format = match log.format {
        // Colours for a terminal only: escape codes in a pipe or file are noise.
        LogFormat::Pretty => Format::Pretty {
            ansi: std::io::stdout().is_terminal(),
        },
        LogFormat::Json => Format::Json,
    };
    let lines = Lines::new(stdout, stdout_format, file);

    // With no collector there is no OpenTelemetry SDK at all: the middleware
    // makes or continues the W3C ids itself (trace_context.rs), so logs carry
    // trace ids and outbound calls carry `traceparent` at no per-request cost.
    let exported = export
        .as_ref()
        .and_then(|export| export.endpoint.as_deref());
    trace_context::set_local(
        exported.is_none(),
        trace.and_then(|trace| trace.sampling_ratio),
    );
    let tracer_provider = trace
        .zip(export.as_ref())
        .filter(|_| exported.is_some())
        .map(|(trace, export)| tracer_provider(trace, export, service.1))
        .transpose()?;
    let otel = tracer_provider.as_ref().map(|provider| {
        // Per-span extras that say nothing about a request served by tasks
        // hopping threads (thread, source line, busy/idle time), and a
        // thread-local OpenTelemetry context swapped on every poll that
        // nothing here reads (outbound calls take it from the tracing span):
        // all off, as each costs on every request.
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("strata"))
            .with_context_activation(false)
            .with_tracked_inactivity(false)
            .with_threads(false)
            .with_location(false)
            // Without the hint the subscriber's maximum level is TRACE, and
            // every `debug!` (sqlx formats each statement for one) is built
            // before the filters drop it.
            .with_filter(PerCall(
                filter_fn(traced).with_max_level_hint(tracing::Level::INFO),
            ))
    });

    // `log.level` filters the log lines only: traces do not stop at `warn`. Both
    // filters are asked at every span and event (per_call.rs says why).
    tracing_subscriber::registry()
        .with(lines.with_filter(PerCall(filter)))
        .with(otel)
        .try_init()
        .map_err(|err| format!("cannot install the log subscriber: {err}"))?;
    if let Some(endpoint) = exported {
        tracing::info!(endpoint, "exporting spans over OTLP");
        warn_once_if_unreachable(endpoint);
    }
    Ok(Telemetry {
        stdout_writer: stdout_flush,
        file_writer: file_flush,
        tracer_provider,
        levels: LevelHandle(levels),
    })
}

/// What the OpenTelemetry layer sees, whatever `log.level` says: spans at `info`
/// and above (the request spans), and warnings and errors as span events. The
/// exporter's own diagnostics stay out, so they cannot feed back into spans.
fn traced(metadata: &tracing::Metadata<'_>) -> bool {
    if metadata.target().starts_with("opentelemetry") {
        return false;
    }
    let least = if metadata.is_span() {
        tracing::Level::INFO
    } else {
        tracing::Level::WARN
    };
    *metadata.level() <= least
}

/// One warning, off the startup path, when nothing listens at the collector's
/// address; the exporter's own errors are filtered out (see [`filter`]), so this is
/// the only trace of an absent collector in the logs.
fn warn_once_if_unreachable(endpoint: &str) {
    let Some(authority) = endpoint
        .split("://")
        .nth(1)
        .map(|rest| rest.split('/').next().unwrap_or(rest).to_owned())
    else {
        return;
    };
    let endpoint = endpoint.to_owned();
    tokio::spawn(async move {
        let attempt = tokio::net::TcpStream::connect(&authority);
        let reachable = matches!(
            tokio::time::timeout(std::time::Duration::from_secs(3), attempt).await,
            Ok(Ok(_))
        );
        if !reachable {
            tracing::warn!(
                endpoint,
                "no OTLP collector answers; spans are dropped until one does"
            );
        }
    });
}

fn filter(level: &str) -> Result<EnvFilter, String> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(from_env) if !from_env.is_empty() => EnvFilter::try_new(&from_env)
            .map_err(|err| format!("RUST_LOG={from_env:?} is not a valid filter: {err}"))?,
        _ => EnvFilter::try_new(level)
            .map_err(|err| format!("log.level {level:?} is not a valid filter: {err}"))?,
    };
    // An unreachable collector must not flood the log: the exporter's own errors
    // are kept off unless RUST_LOG asks for them.
    Ok(filter
        .add_directive(
            "opentelemetry_sdk=off"
                .parse()
                .map_err(|err| format!("{err}"))?,
        )
        .add_directive(
            "opentelemetry_otlp=off"
                .parse()
                .map_err(|err| format!("{err}"))?,
        ))
}

fn rolling_file(file: &config::LogFile) -> Result<RollingFileAppender, String> {
    let rotation = match file.rotation {
        Rotation::Daily => Rolling::DAILY,
        Rotation::Hourly => Rolling::HOURLY,
    };
    std::fs::create_dir_all(&file.dir)
        .map_err(|err| format!("log.file.dir {}: {err}", file.dir.display()))?;
    RollingFileAppender::builder()
        .rotation(rotation)
        .filename_prefix("service")
        .filename_suffix("log")
        .max_log_files(file.max_files.max(1))
        .build(&file.dir)
        .map_err(|err| format!("log.file.dir {}: {err}", file.dir.display()))
}

fn tracer_provider(
    trace: &config::Trace,
    export: &otel_env::Export,
    service_version: &str,
) -> Result<SdkTracerProvider, String> {
    opentelemetry::global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]));
    // The builder's detectors read OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
    let mut resource = Resource::builder().with_attribute(opentelemetry::KeyValue::new(
        "service.version",
        service_version.to_owned(),
    ));
    if let Some(name) = &export.service_name {
        resource = resource.with_service_name(name.clone());
    }
    let mut provider = SdkTracerProvider::builder().with_resource(resource.build());
    // Without a ratio the SDK's default applies: OTEL_TRACES_SAMPLER(_ARG), else
    // parent-based always-on.
    if let Some(ratio) = trace.sampling_ratio {
        provider = provider.with_sampler(Sampler::ParentBased(Box::new(
            Sampler::TraceIdRatioBased(ratio),
        )));
    }
    // The exporter adds OTEL_EXPORTER_OTLP_HEADERS (and _TRACES_HEADERS) itself.
    if let Some(endpoint) = &export.endpoint {
        // Connects lazily: a collector that is not up yet delays nothing.
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()
            .map_err(|err| format!("OTLP endpoint {endpoint:?}: {err}"))?;
        provider = provider.with_batch_exporter(exporter);
    }
    Ok(provider.build())
}

/// `elapsed` in milliseconds to the microsecond, as log lines carry latencies:
/// `21.158`, where `as_secs_f64() * 1000.0` gives `21.158725999999998`.
pub(crate) fn latency_ms(elapsed: std::time::Duration) -> f64 {
    elapsed.as_micros() as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn latencies_read_to_the_microsecond() {
        let read = |nanos| super::latency_ms(Duration::from_nanos(nanos)).to_string();
        assert_eq!(read(21_158_726), "21.158");
        assert_eq!(read(1_500_000), "1.5");
        assert_eq!(read(999), "0");
        assert_eq!(read(3_000_000_000), "3000");
    }
}
