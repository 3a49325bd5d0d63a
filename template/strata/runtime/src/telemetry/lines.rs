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

/// A span's fields, in the order recorded: their values' text end to end in
/// `text`, each field naming where its value ends.
#[derive(Debug, Default)]
struct SpanFields {
    text: String,
    fields: Vec<Recorded>,
}

#[derive(Debug)]
struct Recorded {
    name: &'static str,
    /// A string (quoted in both formats) rather than a number or a boolean.
    quoted: bool,
    end: usize,
}

impl SpanFields {
    fn values(&self) -> impl Iterator<Item = (&'static str, bool, &str)> {
        let mut start = 0;
        self.fields.iter().map(move |field| {
            let value = &self.text[start..field.end];
            start = field.end;
            (field.name, field.quoted, value)
        })
    }
}

impl Visit for SpanFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, true, |text| text.write_str(value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, true, |text| write!(text, "{value:?}"));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.push(field, true, |text| write!(text, "{value}"));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, false, |out| text::integer(out, value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, false, |out| text::integer(out, value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, false, |out| out.write_str(bool_text(value)));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        // NaN and the infinities are not JSON numbers: kept as strings.
        self.push(field, !value.is_finite(), |out| text::float(out, value));
    }
}

impl SpanFields {
    fn push(
        &mut self,
        field: &Field,
        quoted: bool,
        value: impl FnOnce(&mut String) -> fmt::Result,
    ) {
        if from_log(field.name()) {
            return;
        }
        if self.text.capacity() == 0 {
            self.text.reserve(120);
            self.fields.reserve(6);
        }
        let _ = value(&mut self.text);
        self.fields.push(Recorded {
            name: field.name(),
            quoted,
            end: self.text.len(),
        });
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
        let mut fields = SpanFields::default();
        attrs.record(&mut fields);
        span.extensions_mut().insert(fields);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(fields) = extensions.get_mut::<SpanFields>() {
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
            line.text.shrink_to(LINE_KEPT);
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
        let normalized = event.normalized_metadata();
        let metadata = normalized.as_ref().unwrap_or_else(|| event.metadata());
        text::now(&mut line.time);
        let spans = ctx.event_scope(event);
        match self.stdout_format {
            Format::Json => {
                let _ = json(&mut line.text, &line.time, metadata, event, spans);
                self.stdout.write(line.text.as_bytes());
                if let Some(file) = &self.file {
                    file.write(line.text.as_bytes());
                }
            }
            Format::Pretty { ansi } => {
                let spans_again = ctx.event_scope(event);
                let _ = pretty(&mut line.text, &line.time, metadata, event, spans, ansi);
                self.stdout.write(line.text.as_bytes());
                if let Some(file) = &self.file {
                    line.text.clear();
                    let _ = json(&mut line.text, &line.time, metadata, event, spans_again);
                    file.write(line.text.as_bytes());
                }
            }
        }
    }
}

/// Bytes of line buffer a thread keeps between lines.
const LINE_KEPT: usize = 4096;

/// Per thread: the line being formatted and its timestamp.
#[derive(Default)]
struct Line {
    text: String,
    time: String,
}

impl Line {
    fn clear(&mut self) {
        self.text.clear();
        self.time.clear();
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
    event: &Event<'_>,
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
    let mut fields = JsonEvent {
        out: &mut *out,
        result: Ok(()),
    };
    event.record(&mut fields);
    fields.result?;
    for span in spans.into_iter().flat_map(|scope| scope.from_root()) {
        if let Some(fields) = span.extensions().get::<SpanFields>() {
            for (name, quoted, value) in fields.values().filter(|field| !json_skips(field.0)) {
                json_key(out, name)?;
                if quoted {
                    json_string(out, value)?;
                } else {
                    out.write_str(value)?;
                }
            }
        }
    }
    out.write_str("}\n")
}

/// `2026-01-01T00:00:00.000000Z  INFO request{a="x" b=1}: target: message c=2`.
fn pretty<S>(
    out: &mut String,
    time: &str,
    metadata: &Metadata<'_>,
    event: &Event<'_>,
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
        if let Some(fields) = span.extensions().get::<SpanFields>()
            && !fields.fields.is_empty()
        {
            paint.bold(out, "{")?;
            for (index, (name, quoted, value)) in fields.values().enumerate() {
                if index > 0 {
                    out.write_char(' ')?;
                }
                paint.italic(out, name)?;
                out.write_char('=')?;
                if quoted {
                    text::quoted(out, value)?;
                } else {
                    out.write_str(value)?;
                }
            }
            paint.bold(out, "}")?;
        }
        paint.dimmed(out, ":")?;
        out.write_char(' ')?;
    }
    paint.dimmed(out, metadata.target())?;
    paint.dimmed(out, ":")?;
    let mut fields = PrettyEvent {
        start: out.len(),
        out: &mut *out,
        paint,
        result: Ok(()),
    };
    event.record(&mut fields);
    fields.result?;
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

/// The event's fields as JSON pairs, each after a comma.
struct JsonEvent<'a> {
    out: &'a mut String,
    result: fmt::Result,
}

impl JsonEvent<'_> {
    fn pair(&mut self, field: &Field, value: impl FnOnce(&mut String) -> fmt::Result) {
        if self.result.is_err() || json_skips(field.name()) {
            return;
        }
        self.result = json_key(self.out, field.name()).and_then(|()| value(self.out));
    }
}

impl Visit for JsonEvent<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.pair(field, |out| json_string(out, value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.pair(field, |out| {
            out.write_char('"')?;
            write!(JsonEscaped(out), "{value:?}")?;
            out.write_char('"')
        });
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.pair(field, |out| {
            out.write_char('"')?;
            write!(JsonEscaped(out), "{value}")?;
            out.write_char('"')
        });
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.pair(field, |out| text::integer(out, value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.pair(field, |out| text::integer(out, value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.pair(field, |out| out.write_str(bool_text(value)));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if value.is_finite() {
            self.pair(field, |out| text::float(out, value));
        } else {
            self.pair(field, |out| write!(out, r#""{value}""#));
        }
    }
}

/// The event's fields, `message` first: ` message name=value ...`, in one
/// visit of the fields.
struct PrettyEvent<'a> {
    out: &'a mut String,
    paint: Paint,
    /// Where the fields begin, and so where the message goes.
    start: usize,
    result: fmt::Result,
}

impl PrettyEvent<'_> {
    fn pair(&mut self, field: &Field, value: impl FnOnce(&mut String) -> fmt::Result) {
        if self.result.is_err() || from_log(field.name()) {
            return;
        }
        self.result = if field.name() != "message" {
            self.out.write_char(' ').and_then(|()| {
                self.paint.italic(self.out, field.name())?;
                self.out.write_char('=')?;
                value(self.out)
            })
        } else if self.out.len() == self.start {
            // tracing's macros record the message first: written in place.
            self.out.write_char(' ').and_then(|()| value(self.out))
        } else {
            // Recorded after other fields (a hand-built field set): moved ahead.
            let mut message = String::from(" ");
            value(&mut message).map(|()| self.out.insert_str(self.start, &message))
        };
    }
}

impl Visit for PrettyEvent<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.pair(field, |out| out.write_str(value));
        } else {
            self.pair(field, |out| text::quoted(out, value));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.pair(field, |out| write!(out, "{value:?}"));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.pair(field, |out| write!(out, "{value}"));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.pair(field, |out| text::integer(out, value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.pair(field, |out| text::integer(out, value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.pair(field, |out| out.write_str(bool_text(value)));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.pair(field, |out| text::float(out, value));
    }
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
