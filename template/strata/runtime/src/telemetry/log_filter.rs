//! `log.level`'s filter, reloadable, and told that a span was entered or left
//! only when it has a directive scoped to spans (`target[span]=level`).
//!
//! An `EnvFilter` keeps a span's level on a per-thread stack at each entry and
//! exit, behind two locks and a hash lookup, but only for spans that such a
//! directive matches; a request's future enters its span at every poll. Without
//! one, the calls do nothing, so they are not made.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing::subscriber::Interest;
use tracing::{Event, Metadata, span};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, Filter};
use tracing_subscriber::{EnvFilter, Registry, reload};

pub(super) struct LogFilter {
    filter: reload::Layer<EnvFilter, Registry>,
    span_scoped: Arc<AtomicBool>,
}

/// Replaces the filter of a [`LogFilter`].
#[derive(Debug, Clone)]
pub(super) struct Reload {
    handle: reload::Handle<EnvFilter, Registry>,
    span_scoped: Arc<AtomicBool>,
}

impl LogFilter {
    pub(super) fn new(filter: EnvFilter) -> (Self, Reload) {
        let span_scoped = Arc::new(AtomicBool::new(is_span_scoped(&filter)));
        let (filter, handle) = reload::Layer::new(filter);
        let reload = Reload {
            handle,
            span_scoped: span_scoped.clone(),
        };
        (
            Self {
                filter,
                span_scoped,
            },
            reload,
        )
    }

    fn span_scoped(&self) -> bool {
        self.span_scoped.load(Ordering::Acquire)
    }
}

impl Reload {
    pub(super) fn reload(&self, filter: EnvFilter) -> Result<(), reload::Error> {
        let scoped = is_span_scoped(&filter);
        // Raised before the filter changes and lowered after, so a filter with
        // span directives is never left uninformed.
        if scoped {
            self.span_scoped.store(true, Ordering::Release);
        }
        self.handle.reload(filter)?;
        if !scoped {
            self.span_scoped.store(false, Ordering::Release);
        }
        Ok(())
    }
}

/// Whether `filter` has a directive that depends on the spans a line is in: only
/// those are written with brackets (`target[span{field=value}]=level`).
fn is_span_scoped(filter: &EnvFilter) -> bool {
    filter.to_string().contains('[')
}

impl Filter<Registry> for LogFilter {
    fn enabled(&self, metadata: &Metadata<'_>, cx: &Context<'_, Registry>) -> bool {
        Filter::enabled(&self.filter, metadata, cx)
    }

    fn callsite_enabled(&self, metadata: &'static Metadata<'static>) -> Interest {
        Filter::callsite_enabled(&self.filter, metadata)
    }

    fn event_enabled(&self, event: &Event<'_>, cx: &Context<'_, Registry>) -> bool {
        Filter::event_enabled(&self.filter, event, cx)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Filter::max_level_hint(&self.filter)
    }

    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, cx: Context<'_, Registry>) {
        Filter::on_new_span(&self.filter, attrs, id, cx);
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, cx: Context<'_, Registry>) {
        Filter::on_record(&self.filter, id, values, cx);
    }

    fn on_enter(&self, id: &span::Id, cx: Context<'_, Registry>) {
        if self.span_scoped() {
            Filter::on_enter(&self.filter, id, cx);
        }
    }

    fn on_exit(&self, id: &span::Id, cx: Context<'_, Registry>) {
        if self.span_scoped() {
            Filter::on_exit(&self.filter, id, cx);
        }
    }

    fn on_close(&self, id: span::Id, cx: Context<'_, Registry>) {
        Filter::on_close(&self.filter, id, cx);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use tracing::Subscriber;
    use tracing_subscriber::layer::{Layer, SubscriberExt};

    use super::*;

    /// Counts the events it is given.
    struct Events(Arc<AtomicUsize>);

    impl<S: Subscriber> Layer<S> for Events {
        fn on_event(&self, _: &Event<'_>, _: Context<'_, S>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_span_scoped_directive_sees_its_span_entered_before_and_after_a_reload() {
        let events = Arc::new(AtomicUsize::new(0));
        let (filter, reload) = LogFilter::new(EnvFilter::new("warn,[request]=info"));
        let subscriber =
            tracing_subscriber::registry().with(Events(events.clone()).with_filter(filter));
        tracing::subscriber::with_default(subscriber, || {
            let count = || events.load(Ordering::SeqCst);
            tracing::info!("outside the span");
            assert_eq!(count(), 0);
            let span = tracing::info_span!("request");
            span.in_scope(|| tracing::info!("inside"));
            assert_eq!(count(), 1);
            reload.reload(EnvFilter::new("warn")).expect("reloaded");
            span.in_scope(|| tracing::info!("inside, at warn"));
            assert_eq!(count(), 1);
            reload
                .reload(EnvFilter::new("warn,[request]=info"))
                .expect("reloaded");
            let span = tracing::info_span!("request");
            span.in_scope(|| tracing::info!("inside again"));
            assert_eq!(count(), 2);
        });
    }

    #[test]
    fn only_directives_in_brackets_are_span_scoped() {
        for (directives, scoped) in [
            ("info", false),
            ("warn,sqlx=debug,hello::server=trace", false),
            ("info,[request]=debug", true),
            ("warn,hello[request{request_id=abc}]=trace", true),
        ] {
            let filter = EnvFilter::try_new(directives).expect("a valid filter");
            assert_eq!(is_span_scoped(&filter), scoped, "{directives}");
        }
    }
}
