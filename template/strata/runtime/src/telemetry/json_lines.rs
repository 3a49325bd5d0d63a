//! Log lines as flat JSON objects: the event's fields, then the fields of every
//! span it happened in (`request_id`, `trace_id`, ...), root first.
//!
//! tracing-subscriber's own JSON format keeps each span's fields as a JSON text
//! and parses it back for every line and every `record`; at one access line per
//! request that was most of the cost of logging. Here span fields are kept as a
//! ready-made fragment (`"a":1,"b":"x"`) that a line copies as it is.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// Formats a span's fields as a JSON fragment without braces; fields recorded
/// later are appended to it.
#[derive(Debug, Default)]
pub(super) struct JsonFields;

impl<'writer> FormatFields<'writer> for JsonFields {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        let mut visitor = Visitor::new(&mut writer, false);
        fields.record(&mut visitor);
        visitor.result
    }

    fn add_fields(
        &self,
        current: &'writer mut FormattedFields<Self>,
        fields: &tracing::span::Record<'_>,
    ) -> fmt::Result {
        let comma = !current.fields.is_empty();
        let mut visitor = Visitor::new(&mut current.fields, comma);
        fields.record(&mut visitor);
        visitor.result
    }
}

/// One line per event: `timestamp`, `level`, `target`, the event's fields
/// (`message` among them), then the fields of its spans.
#[derive(Debug, Default)]
pub(super) struct JsonLines;

impl<S> FormatEvent<S, JsonFields> for JsonLines
where
    S: Subscriber + for<'lookup> LookupSpan<'lookup>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let metadata = event.metadata();
        writer.write_str(r#"{"timestamp":""#)?;
        SystemTime.format_time(&mut writer)?;
        write!(writer, r#"","level":"{}","target":"#, metadata.level())?;
        write_string(&mut writer, metadata.target())?;
        let mut visitor = Visitor::new(&mut writer, true);
        event.record(&mut visitor);
        visitor.result?;
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                if let Some(fields) = extensions.get::<FormattedFields<JsonFields>>()
                    && !fields.fields.is_empty()
                {
                    writer.write_char(',')?;
                    writer.write_str(&fields.fields)?;
                }
            }
        }
        writer.write_str("}\n")
    }
}

/// Writes `"name":value` pairs, comma-separated.
struct Visitor<'a> {
    out: &'a mut dyn fmt::Write,
    comma: bool,
    result: fmt::Result,
}

impl<'a> Visitor<'a> {
    /// `comma`: whether the first pair follows others already written.
    fn new(out: &'a mut dyn fmt::Write, comma: bool) -> Self {
        Self {
            out,
            comma,
            result: Ok(()),
        }
    }

    /// Writes the key and hands the writer to `value`. Fields for the
    /// OpenTelemetry layer (`otel.name`, ...) and tracing-log's `log.*` stay out.
    fn pair(&mut self, field: &Field, value: impl FnOnce(&mut dyn fmt::Write) -> fmt::Result) {
        let name = field.name();
        if self.result.is_err() || name.starts_with("otel.") || name.starts_with("log.") {
            return;
        }
        let separator = if self.comma { "," } else { "" };
        self.comma = true;
        self.result = write!(self.out, r#"{separator}"{name}":"#).and_then(|()| value(self.out));
    }
}

impl Visit for Visitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.pair(field, |out| write_string(out, value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.pair(field, |out| write_string(out, &format!("{value:?}")));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.pair(field, |out| write_string(out, &value.to_string()));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.pair(field, |out| write!(out, "{value}"));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.pair(field, |out| write!(out, "{value}"));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.pair(field, |out| write!(out, "{value}"));
    }

    /// NaN and the infinities are not JSON numbers: they are written as strings.
    fn record_f64(&mut self, field: &Field, value: f64) {
        if value.is_finite() {
            self.pair(field, |out| write!(out, "{value}"));
        } else {
            self.pair(field, |out| write!(out, r#""{value}""#));
        }
    }
}

/// `value` as a JSON string: quotes, backslashes and control characters escaped.
fn write_string(out: &mut dyn fmt::Write, value: &str) -> fmt::Result {
    out.write_char('"')?;
    let mut start = 0;
    for (index, byte) in value.bytes().enumerate() {
        let escaped = match byte {
            b'"' => r#"\""#,
            b'\\' => r"\\",
            b'\n' => r"\n",
            b'\r' => r"\r",
            b'\t' => r"\t",
            0..=0x1f => "",
            _ => continue,
        };
        // Escaped bytes are ASCII, so `index` is always a character boundary.
        out.write_str(&value[start..index])?;
        if escaped.is_empty() {
            write!(out, r"\u{byte:04x}")?;
        } else {
            out.write_str(escaped)?;
        }
        start = index + 1;
    }
    out.write_str(&value[start..])?;
    out.write_char('"')
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use serde_json::Value;
    use tracing_subscriber::fmt::MakeWriter;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Self;

        fn make_writer(&'a self) -> Self {
            self.clone()
        }
    }

    /// The lines `log` writes, each parsed as JSON.
    fn lines(log: impl FnOnce()) -> Vec<Value> {
        let captured = Captured::default();
        let layer = tracing_subscriber::fmt::layer()
            .fmt_fields(JsonFields)
            .event_format(JsonLines)
            .with_writer(captured.clone());
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), log);
        let text = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("UTF-8");
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}")))
            .collect()
    }

    #[test]
    fn a_line_holds_the_event_and_its_spans_fields_flat() {
        let lines = lines(|| {
            let outer = tracing::info_span!("outer", tenant = "acme");
            let _outer = outer.enter();
            let request = tracing::info_span!(
                "request",
                otel.name = "GET /x",
                request_id = "r-1",
                trace_id = tracing::field::Empty,
            );
            request.record("trace_id", "4bf92f35");
            let _request = request.enter();
            tracing::info!(code = 404_u64, latency_ms = 1.5, ok = false, "access");
        });

        assert_eq!(lines.len(), 1);
        let line = &lines[0];
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["message"], "access");
        assert_eq!(line["code"], 404);
        assert_eq!(line["latency_ms"], 1.5);
        assert_eq!(line["ok"], false);
        assert_eq!(line["tenant"], "acme");
        assert_eq!(line["request_id"], "r-1");
        assert_eq!(line["trace_id"], "4bf92f35", "recorded after creation");
        assert!(line.get("otel.name").is_none(), "{line}");
        assert!(line["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
        assert_eq!(line["target"], module_path!());
    }

    #[test]
    fn strings_are_escaped_and_odd_numbers_stay_valid_json() {
        let text = "quote \" backslash \\ newline \n tab \t bell \u{7} é";
        let lines = lines(|| {
            tracing::warn!(text, ratio = f64::NAN, error = %"line\nbreak", "{text}");
        });

        let line = &lines[0];
        assert_eq!(line["text"], text);
        assert_eq!(line["message"], text);
        assert_eq!(line["ratio"], "NaN");
        assert_eq!(line["error"], "line\nbreak");
    }
}
