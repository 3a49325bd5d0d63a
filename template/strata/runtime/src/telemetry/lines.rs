//! The one log layer: each event becomes a line, pretty or JSON, formatted once
//! per format into a reused buffer and handed to the sinks (writer.rs).
//!
//! A span's fields are kept as raw values with their names, not as a formatted
//! text per output format (tracing-subscriber's `fmt` layers each format every
//! span and re-format it on every `record`): a line writes them straight into
//! the format it needs. A JSON line is the event's fields, then the fields of
//! every span it happened in (`request_id`, `trace_id`, ...), root first, as one
//! flat object; a pretty line is tracing-subscriber's full format.

use std::cell::RefCell;
use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use super::writer::Sink;

/// Where lines go, and in which format.
#[derive(Debug)]
pub(super) struct Lines {
    stdout: Sink,
    stdout_format: Format,
    /// The rolling file: always JSON.
    file: Option<Sink>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    /// tracing-subscriber's full format, coloured when `ansi`.
    Pretty {
        ansi: bool,
    },
    Json,
}

impl Lines {
    pub(super) fn new(stdout: Sink, stdout_format: Format, file: Option<Sink>) -> Self {
        Self {
            stdout,
            stdout_format,
            file,
        }
    }
}

/// A span's or an event's fields, in the order recorded: their values' text end
/// to end in `text`, each field naming its kind and where its value ends. An
/// event's are recorded once for every format its line is written in.
#[derive(Debug, Default)]
struct Fields {
    text: String,
    fields: Vec<Recorded>,
}

#[derive(Debug)]
struct Recorded {
    name: &'static str,
    kind: Kind,
    end: usize,
}

/// How a value is written: JSON quotes `Str` and `Debug`; pretty lines quote
/// both in span fields, and in event fields quote `Str` only (but the message),
/// as tracing-subscriber's format does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A `&str`.
    Str,
    /// `Debug` or `Display` text (the message of `info!("...")` is one), and
    /// NaN and the infinities, which are not JSON numbers.
    Debug,
    /// A number or a boolean.
    Bare,
}

impl Fields {
    fn values(&self) -> impl Iterator<Item = (&'static str, Kind, &str)> {
        let mut start = 0;
        self.fields.iter().map(move |field| {
            let value = &self.text[start..field.end];
            start = field.end;
            (field.name, field.kind, value)
        })
    }

    fn clear(&mut self) {
        self.text.clear();
        self.fields.clear();
    }

    fn push(&mut self, field: &Field, kind: Kind, value: impl FnOnce(&mut String) -> fmt::Result) {
        if from_log(field.name()) {
            return;
        }
        if self.text.capacity() == 0 {
            self.text.reserve(120);
            self.fields.reserve(6);
        }
        // A value that fails to format keeps what it wrote, as `fmt` would.
        let _ = value(&mut self.text);
        self.fields.push(Recorded {
            name: field.name(),
            kind,
            end: self.text.len(),
        });
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, Kind::Str, |out| out.write_str(value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, Kind::Debug, |out| write!(out, "{value:?}"));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.push(field, Kind::Debug, |out| write!(out, "{value}"));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, Kind::Bare, |out| text::integer(out, value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, Kind::Bare, |out| text::integer(out, value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, Kind::Bare, |out| out.write_str(bool_text(value)));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        let kind = if value.is_finite() {
            Kind::Bare
        } else {
            Kind::Debug
        };
        self.push(field, kind, |out| text::float(out, value));
    }
}

/// tracing-log's `log.*` fields stay out of every line (the record's target and
/// module are the line's).
fn from_log(field: &str) -> bool {
    field.starts_with("log.")
}

/// Fields for the OpenTelemetry layer (`otel.name`, `otel.kind`) stay out of
/// JSON lines; pretty lines show them, as tracing-subscriber's format did.
fn json_skips(field: &str) -> bool {
    from_log(field) || field.starts_with("otel.")
}

impl<S> tracing_subscriber::Layer<S> for Lines
where
    S: Subscriber + for<'lookup> LookupSpan<'lookup>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        span.extensions_mut().insert(fields);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(fields) = extensions.get_mut::<Fields>() {
            values.record(fields);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        // The thread's buffer is taken while a Debug value logs from inside its
        // own formatting, and gone while the thread exits (a value dropped by a
        // thread-local destructor may still log; `with` would panic there, and a
        // panic in a destructor aborts the process): such lines get a fresh one.
        let written = LINE.try_with(|line| {
            let Ok(mut line) = line.try_borrow_mut() else {
                return false;
            };
            self.write_line(&mut line, event, &ctx);
            // A rare long line does not keep its memory on every thread.
            line.out.shrink_to(LINE_KEPT);
            line.fields.text.shrink_to(LINE_KEPT);
            true
        });
        if written != Ok(true) {
            self.write_line(&mut Line::default(), event, &ctx);
        }
    }
}

impl Lines {
    /// Formats `event` into `line` once per format and hands it to the sinks.
    fn write_line<S>(&self, line: &mut Line, event: &Event<'_>, ctx: &Context<'_, S>)
    where
        S: Subscriber + for<'lookup> LookupSpan<'lookup>,
    {
        line.clear();
        let Line { out, time, fields } = line;
        let normalized = event.normalized_metadata();
        let metadata = normalized.as_ref().unwrap_or_else(|| event.metadata());
        text::now(time);
        event.record(fields);
        let spans = ctx.event_scope(event);
        match self.stdout_format {
            Format::Json => {
                let _ = json(out, time, metadata, fields, spans);
                self.stdout.write(out.as_bytes());
                if let Some(file) = &self.file {
                    file.write(out.as_bytes());
                }
            }
            Format::Pretty { ansi } => {
                let spans_again = ctx.event_scope(event);
                let _ = pretty(out, time, metadata, fields, spans, ansi);
                self.stdout.write(out.as_bytes());
                if let Some(file) = &self.file {
                    out.clear();
                    let _ = json(out, time, metadata, fields, spans_again);
                    file.write(out.as_bytes());
                }
            }
        }
    }
}

/// Bytes of line buffer a thread keeps between lines.
const LINE_KEPT: usize = 4096;

/// Per thread: the line being formatted, its timestamp and the event's fields.
#[derive(Default)]
struct Line {
    out: String,
    time: String,
    fields: Fields,
}

impl Line {
    fn clear(&mut self) {
        self.out.clear();
        self.time.clear();
        self.fields.clear();
    }
}

thread_local! {
    static LINE: RefCell<Line> = RefCell::new(Line::default());
}

type Scope<'a, S> = Option<tracing_subscriber::registry::Scope<'a, S>>;

/// `{"timestamp":..,"level":..,"target":..,<event fields>,<span fields>}`.
fn json<S>(
    out: &mut String,
    time: &str,
    metadata: &Metadata<'_>,
    event: &Fields,
    spans: Scope<'_, S>,
) -> fmt::Result
where
    S: for<'lookup> LookupSpan<'lookup>,
{
    out.write_str(r#"{"timestamp":""#)?;
    out.write_str(time)?;
    out.write_str(r#"","level":""#)?;
    out.write_str(metadata.level().as_str())?;
    out.write_str(r#"","target":"#)?;
    json_string(out, metadata.target())?;
    json_fields(out, event)?;
    for span in spans.into_iter().flat_map(|scope| scope.from_root()) {
        if let Some(fields) = span.extensions().get::<Fields>() {
            json_fields(out, fields)?;
        }
    }
    out.write_str("}\n")
}

/// `2026-01-01T00:00:00.000000Z  INFO request{a="x" b=1}: target: message c=2`.
fn pretty<S>(
    out: &mut String,
    time: &str,
    metadata: &Metadata<'_>,
    event: &Fields,
    spans: Scope<'_, S>,
    ansi: bool,
) -> fmt::Result
where
    S: for<'lookup> LookupSpan<'lookup>,
{
    let paint = Paint(ansi);
    paint.dimmed(out, time)?;
    out.write_char(' ')?;
    paint.level(out, *metadata.level())?;
    out.write_char(' ')?;
    for span in spans.into_iter().flat_map(|scope| scope.from_root()) {
        paint.bold(out, span.name())?;
        if let Some(fields) = span.extensions().get::<Fields>()
            && !fields.fields.is_empty()
        {
            paint.bold(out, "{")?;
            for (index, (name, kind, value)) in fields.values().enumerate() {
                if index > 0 {
                    out.write_char(' ')?;
                }
                paint.italic(out, name)?;
                out.write_char('=')?;
                match kind {
                    Kind::Str | Kind::Debug => text::quoted(out, value)?,
                    Kind::Bare => out.write_str(value)?,
                }
            }
            paint.bold(out, "}")?;
        }
        paint.dimmed(out, ":")?;
        out.write_char(' ')?;
    }
    paint.dimmed(out, metadata.target())?;
    paint.dimmed(out, ":")?;
    pretty_event(out, paint, event)?;
    out.write_char('\n')
}

/// ANSI styles, or none.
#[derive(Clone, Copy)]
struct Paint(bool);

impl Paint {
    fn styled(self, out: &mut String, code: &str, text: &str) -> fmt::Result {
        if self.0 {
            out.write_str("\x1b[")?;
            out.write_str(code)?;
            out.write_char('m')?;
            out.write_str(text)?;
            out.write_str("\x1b[0m")
        } else {
            out.write_str(text)
        }
    }

    fn bold(self, out: &mut String, text: &str) -> fmt::Result {
        self.styled(out, "1", text)
    }

    fn dimmed(self, out: &mut String, text: &str) -> fmt::Result {
        self.styled(out, "2", text)
    }

    fn italic(self, out: &mut String, text: &str) -> fmt::Result {
        self.styled(out, "3", text)
    }

    /// Right-aligned to five columns, as tracing-subscriber prints it.
    fn level(self, out: &mut String, level: Level) -> fmt::Result {
        let (code, text) = match level {
            Level::TRACE => ("35", "TRACE"),
            Level::DEBUG => ("34", "DEBUG"),
            Level::INFO => ("32", " INFO"),
            Level::WARN => ("33", " WARN"),
            Level::ERROR => ("31", "ERROR"),
        };
        self.styled(out, code, text)
    }
}

/// An event's or a span's fields as JSON pairs, each after a comma.
fn json_fields(out: &mut String, fields: &Fields) -> fmt::Result {
    for (name, kind, value) in fields.values().filter(|field| !json_skips(field.0)) {
        json_key(out, name)?;
        match kind {
            Kind::Str | Kind::Debug => json_string(out, value)?,
            Kind::Bare => out.write_str(value)?,
        }
    }
    Ok(())
}

/// The event's fields, the message first wherever it was recorded (a hand-built
/// field set may record it late): ` message name=value ...`.
fn pretty_event(out: &mut String, paint: Paint, event: &Fields) -> fmt::Result {
    let is_message = |name: &str| name == "message";
    if let Some((_, _, message)) = event.values().find(|field| is_message(field.0)) {
        out.write_char(' ')?;
        out.write_str(message)?;
    }
    for (name, kind, value) in event.values().filter(|field| !is_message(field.0)) {
        out.write_char(' ')?;
        paint.italic(out, name)?;
        out.write_char('=')?;
        match kind {
            Kind::Str => text::quoted(out, value)?,
            Kind::Debug | Kind::Bare => out.write_str(value)?,
        }
    }
    Ok(())
}

/// `,"name":`.
fn json_key(out: &mut String, name: &str) -> fmt::Result {
    out.write_str(r#",""#)?;
    out.write_str(name)?;
    out.write_str(r#"":"#)
}

fn bool_text(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

/// `value` as a JSON string, quotes included.
fn json_string(out: &mut String, value: &str) -> fmt::Result {
    out.write_char('"')?;
    JsonEscaped(out).write_str(value)?;
    out.write_char('"')
}

/// Escapes what is written through it for the inside of a JSON string: quotes,
/// backslashes and control characters.
struct JsonEscaped<'a>(&'a mut String);

impl fmt::Write for JsonEscaped<'_> {
    fn write_str(&mut self, mut value: &str) -> fmt::Result {
        // Runs of bytes that need no escape are copied whole.
        while let Some(index) = text::first(value.as_bytes(), |byte| {
            byte < 0x20 || byte == b'"' || byte == b'\\'
        }) {
            // Escaped bytes are ASCII, so `index` is always a character boundary.
            self.0.push_str(&value[..index]);
            let byte = value.as_bytes()[index];
            match byte {
                b'"' => self.0.push_str(r#"\""#),
                b'\\' => self.0.push_str(r"\\"),
                b'\n' => self.0.push_str(r"\n"),
                b'\r' => self.0.push_str(r"\r"),
                b'\t' => self.0.push_str(r"\t"),
                _ => write!(self.0, r"\u{byte:04x}")?,
            }
            value = &value[index + 1..];
        }
        self.0.push_str(value);
        Ok(())
    }
}

mod text;

#[cfg(test)]
mod tests;
