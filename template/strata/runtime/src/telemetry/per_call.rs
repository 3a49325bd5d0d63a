//! A per-layer filter that is asked about every span and event.
//!
//! tracing-subscriber carries each per-layer filter's answer from `enabled` to
//! `new_span`/`on_event` in a thread-local map. A callsite whose interest is
//! cached as `always` skips `enabled`, so its span reads the map the thread's
//! previous `enabled` call left behind. When that call was only a question, no
//! span or event consumed its answers: sqlx's query logger asks `log_enabled!`
//! (through tracing-log) and `tracing::enabled!` after every query, on the Tokio
//! worker that ran it, so the next request span on that worker reached none of
//! the layers that said no to sqlx: no request id or trace id in its lines, no
//! exported span (tokio-rs/tracing#2519; seen with PostgreSQL and MySQL, whose
//! queries run on the workers). Capping the interest at `sometimes` makes every
//! span and event run its own `enabled` pass, which rewrites the map.

use tracing::subscriber::Interest;
use tracing::{Event, Metadata, span};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, Filter};

/// `F`, with a callsite interest of `always` lowered to `sometimes`.
#[derive(Debug)]
pub(super) struct PerCall<F>(pub(super) F);

impl<S, F: Filter<S>> Filter<S> for PerCall<F> {
    fn enabled(&self, metadata: &Metadata<'_>, cx: &Context<'_, S>) -> bool {
        self.0.enabled(metadata, cx)
    }

    fn callsite_enabled(&self, metadata: &'static Metadata<'static>) -> Interest {
        let interest = self.0.callsite_enabled(metadata);
        if interest.is_always() {
            Interest::sometimes()
        } else {
            interest
        }
    }

    fn event_enabled(&self, event: &Event<'_>, cx: &Context<'_, S>) -> bool {
        self.0.event_enabled(event, cx)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        self.0.max_level_hint()
    }

    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, cx: Context<'_, S>) {
        self.0.on_new_span(attrs, id, cx);
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, cx: Context<'_, S>) {
        self.0.on_record(id, values, cx);
    }

    fn on_enter(&self, id: &span::Id, cx: Context<'_, S>) {
        self.0.on_enter(id, cx);
    }

    fn on_exit(&self, id: &span::Id, cx: Context<'_, S>) {
        self.0.on_exit(id, cx);
    }

    fn on_close(&self, id: span::Id, cx: Context<'_, S>) {
        self.0.on_close(id, cx);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tracing::callsite::{Callsite, Identifier};
    use tracing::field::FieldSet;
    use tracing::metadata::Kind;
    use tracing::{Level, Subscriber};
    use tracing_subscriber::filter::{EnvFilter, filter_fn};
    use tracing_subscriber::layer::{Layer, SubscriberExt};

    use super::*;

    /// Counts the spans it is told about.
    struct Spans(Arc<AtomicUsize>);

    impl<S: Subscriber> Layer<S> for Spans {
        fn on_new_span(&self, _: &span::Attributes<'_>, _: &span::Id, _: Context<'_, S>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// The metadata a `log_enabled!(Level::Debug)` hands the subscriber through
    /// tracing-log: made at run time, so no interest is cached for it.
    struct DebugQuery;

    static DEBUG_QUERY: Metadata<'static> = Metadata::new(
        "query",
        "sqlx::query",
        Level::DEBUG,
        None,
        None,
        None,
        FieldSet::new(&[], Identifier(&DebugQuery)),
        Kind::EVENT,
    );

    impl Callsite for DebugQuery {
        fn set_interest(&self, _: Interest) {}

        fn metadata(&self) -> &Metadata<'_> {
            &DEBUG_QUERY
        }
    }

    #[test]
    fn a_span_after_a_check_every_filter_refused_still_reaches_every_layer() {
        let logged = Arc::new(AtomicUsize::new(0));
        let traced = Arc::new(AtomicUsize::new(0));
        // The two filters `telemetry::init` uses: a log level, and spans at info.
        let subscriber = tracing_subscriber::registry()
            .with(Spans(logged.clone()).with_filter(PerCall(EnvFilter::new("info"))))
            .with(
                Spans(traced.clone()).with_filter(PerCall(filter_fn(|metadata| {
                    metadata.is_span() && *metadata.level() <= Level::INFO
                }))),
            );
        tracing::subscriber::with_default(subscriber, || {
            for round in 1..=3 {
                // Every filter refuses it; no event follows to consume the answers.
                tracing::dispatcher::get_default(|dispatch| dispatch.enabled(&DEBUG_QUERY));
                let _span = tracing::info_span!("request");
                assert_eq!(logged.load(Ordering::SeqCst), round, "log layer");
                assert_eq!(traced.load(Ordering::SeqCst), round, "trace layer");
            }
        });
    }
}
