use std::io;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tracing_subscriber::layer::SubscriberExt;

use super::*;

/// Collects what a sink's thread writes.
#[derive(Clone, Default)]
struct Collected(Arc<Mutex<Vec<u8>>>);

impl io::Write for Collected {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Collected {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().expect("lock").clone()).expect("UTF-8")
    }
}

/// What `log` writes to stdout (in `format`) and to the file (JSON).
fn logged(format: Format, log: impl FnOnce()) -> (String, String) {
    let (stdout, file) = (Collected::default(), Collected::default());
    let (stdout_sink, stdout_flush) =
        Sink::spawn("test-stdout", stdout.clone(), false).expect("thread");
    let (file_sink, file_flush) = Sink::spawn("test-file", file.clone(), false).expect("thread");
    let layer = Lines::new(stdout_sink, format, Some(file_sink));
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), log);
    drop((stdout_flush, file_flush));
    (stdout.text(), file.text())
}

fn parsed(text: &str) -> Vec<Value> {
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}")))
        .collect()
}

/// An access line inside a request span inside an outer span.
fn access_line() {
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
}

#[test]
fn a_json_line_holds_the_event_and_its_spans_fields_flat() {
    let (stdout, file) = logged(Format::Json, access_line);

    assert_eq!(stdout, file, "one JSON line for both sinks");
    let lines = parsed(&file);
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
fn a_pretty_line_reads_like_tracing_subscribers_full_format() {
    let (stdout, file) = logged(Format::Pretty { ansi: false }, access_line);

    let (time, rest) = stdout.split_once(' ').expect("a timestamp");
    assert!(time.ends_with('Z'), "{stdout}");
    assert_eq!(
        rest,
        format!(
            " INFO outer{{tenant=\"acme\"}}: request{{otel.name=\"GET /x\" request_id=\"r-1\" trace_id=\"4bf92f35\"}}: {}: access code=404 latency_ms=1.5 ok=false\n",
            module_path!()
        )
    );
    assert_eq!(parsed(&file)[0]["request_id"], "r-1", "the file stays JSON");
}

/// A message recorded after other fields still leads the pretty line, as in
/// tracing-subscriber's format.
#[test]
fn a_pretty_line_puts_the_message_first_wherever_it_was_recorded() {
    let (stdout, _) = logged(Format::Pretty { ansi: false }, || {
        tracing::info!(code = 7_u64, message = "late", ok = true);
        tracing::info!(code = 8_u64);
    });

    let rests: Vec<&str> = stdout
        .lines()
        .map(|line| line.split_once(": ").expect("a target").1)
        .collect();
    assert_eq!(rests, ["late code=7 ok=true", "code=8"], "{stdout}");
}

#[test]
fn strings_are_escaped_and_odd_numbers_stay_valid_json() {
    let text = "quote \" backslash \\ newline \n tab \t bell \u{7} é";
    let (_, file) = logged(Format::Json, || {
        let span = tracing::info_span!("odd", nan = f64::NAN, debug = ?"a\"b");
        let _span = span.enter();
        tracing::warn!(text, ratio = f64::NAN, error = %"line\nbreak", "{text}");
    });

    let line = &parsed(&file)[0];
    assert_eq!(line["text"], text);
    assert_eq!(line["message"], text);
    assert_eq!(line["ratio"], "NaN");
    assert_eq!(line["error"], "line\nbreak");
    assert_eq!(line["nan"], "NaN");
    assert_eq!(line["debug"], r#""a\"b""#);
}

#[test]
fn odd_numbers_and_unicode_read_as_before_and_stay_valid_json() {
    let (stdout, file) = logged(Format::Pretty { ansi: false }, || {
        let span = tracing::info_span!("odd", name = "ünï \"q\" \u{1f}");
        let _span = span.enter();
        tracing::info!(
            tiny = 1e-7,
            negative_zero = -0.0,
            huge = 1e300,
            whole = 2.0,
            count = u64::MAX,
            below = i64::MIN,
            "x"
        );
    });

    let line = &parsed(&file)[0];
    assert_eq!(line["name"], "ünï \"q\" \u{1f}");
    assert_eq!(line["tiny"].as_f64(), Some(1e-7));
    assert_eq!(line["negative_zero"].as_f64(), Some(-0.0));
    assert_eq!(line["huge"].as_f64(), Some(1e300));
    assert_eq!(line["whole"].as_f64(), Some(2.0));
    assert_eq!(line["count"], u64::MAX);
    assert_eq!(line["below"], i64::MIN);
    // The pretty line writes them as `{}` and `{:?}` do.
    assert!(
        stdout.contains(r#"odd{name="ünï \"q\" \u{1f}"}: "#),
        "{stdout}"
    );
    let numbers = format!(
        "x tiny={} negative_zero=-0 huge={} whole=2 count={} below={}\n",
        1e-7,
        1e300,
        u64::MAX,
        i64::MIN
    );
    assert!(stdout.ends_with(&numbers), "{stdout}");
}

#[test]
fn lines_from_log_records_name_the_records_target() {
    let (_, file) = logged(Format::Json, || {
        tracing_log::format_trace(
            &tracing_log::log::Record::builder()
                .level(tracing_log::log::Level::Warn)
                .target("some_crate::pool")
                .args(format_args!("pool exhausted"))
                .build(),
        )
        .expect("forwarded");
    });

    let line = &parsed(&file)[0];
    assert_eq!(line["target"], "some_crate::pool");
    assert_eq!(line["message"], "pool exhausted");
    assert!(line.get("log.target").is_none(), "{line}");
}

/// Formats as `noisy`, logging a line of its own on the way.
struct Noisy;

impl fmt::Debug for Noisy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        tracing::info!("from inside a field");
        f.write_str("noisy")
    }
}

/// Set in the child process of the test below.
const EXITING_CHILD: &str = "STRATA_TEST_LOG_WHILE_EXITING";

/// Logs when dropped: kept in a thread-local, it is dropped while its thread exits.
struct LogsOnDrop;

impl Drop for LogsOnDrop {
    fn drop(&mut self) {
        tracing::info!("logged while the thread exits");
    }
}

thread_local! {
    static DROPPED_LAST: RefCell<Option<LogsOnDrop>> = const { RefCell::new(None) };
}

/// Through the global subscriber, as in a service (a scoped one drops nested
/// events), a line logged while the thread's line buffer is unusable is still
/// written: from a field's `Debug` while the buffer is in use, and from a value a
/// thread-local destructor drops after the buffer is gone (sqlx connections,
/// tokio tasks), where a panic would abort the process. The global subscriber
/// is set once per process, hence the child.
#[test]
fn lines_logged_while_the_buffer_is_busy_or_gone_are_written() {
    if crate::alone::is_child(EXITING_CHILD) {
        return log_while_a_thread_exits();
    }
    let child = crate::alone::run(
        module_path!(),
        "lines_logged_while_the_buffer_is_busy_or_gone_are_written",
        EXITING_CHILD,
    );
    let stdout = String::from_utf8_lossy(&child.stdout);
    // The child's own lines, among the test harness's (which may start a line).
    let messages: Vec<Value> = stdout
        .lines()
        .filter_map(|line| line.find('{').map(|start| &line[start..]))
        .map(|line| serde_json::from_str::<Value>(line).expect("JSON")["message"].clone())
        .collect();
    assert_eq!(
        messages,
        [
            "from inside a field",
            "outer",
            "the thread's first line",
            "logged while the thread exits"
        ]
    );
}

fn log_while_a_thread_exits() {
    let out = Collected::default();
    let (sink, flush) = Sink::spawn("test-stdout", out.clone(), false).expect("thread");
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(Lines::new(
        sink,
        Format::Json,
        None,
    )))
    .expect("the only global subscriber");
    tracing::info!(value = ?Noisy, "outer");
    std::thread::spawn(|| {
        // Registered before the line buffer, so destroyed after it.
        DROPPED_LAST.with(|last| *last.borrow_mut() = Some(LogsOnDrop));
        tracing::info!("the thread's first line");
    })
    .join()
    .expect("the thread exits without a panic");
    drop(flush);
    print!("{}", out.text());
}
