//! A dependency's last known state, kept by a background probe, so callers fail
//! in microseconds while it is down instead of each waiting out its own timeout,
//! and readiness answers from the last probe instead of probing again.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::Notify;

type ProbeFn =
    Box<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

/// A dependency known to be down: which one and the last failure seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Down {
    /// The dependency's name, e.g. `database`.
    pub name: &'static str,
    /// The last failure a probe or a caller saw.
    pub error: String,
}

impl std::fmt::Display for Down {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is down: {}", self.name, self.error)
    }
}

impl std::error::Error for Down {}

/// Open (failing fast) while the dependency is known to be down, closed otherwise.
/// Cheap to clone; every clone shares the same state and probe.
///
/// A probe runs every `interval`, and at once when a caller [`Breaker::trip`]s it;
/// only a probe that passes closes the breaker again.
#[derive(Clone)]
pub struct Breaker {
    inner: Arc<Inner>,
}

struct Inner {
    name: &'static str,
    /// `Some(why)` while open.
    down: Mutex<Option<String>>,
    /// Bumped by every trip: a probe that began before a trip cannot close it.
    trips: AtomicU64,
    /// Set by [`Breaker::stop`]: the dependency is closed on purpose.
    stopped: AtomicBool,
    wake: Notify,
}

impl Breaker {
    /// A closed breaker for `name`, probed by `probe` every `interval` with
    /// `timeout` to answer, on a task that ends when the last clone is dropped.
    /// Must be called inside a tokio runtime.
    pub fn spawn<F, Fut, E>(
        name: &'static str,
        interval: Duration,
        timeout: Duration,
        probe: F,
    ) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Display,
    {
        let inner = Arc::new(Inner {
            name,
            down: Mutex::new(None),
            trips: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
            wake: Notify::new(),
        });
        let probe: ProbeFn = Box::new(move || {
            let outcome = probe();
            Box::pin(async move { outcome.await.map_err(|err| err.to_string()) })
        });
        tokio::spawn(probe_loop(Arc::downgrade(&inner), probe, interval, timeout));
        Self { inner }
    }

    /// The dependency's name.
    pub fn name(&self) -> &'static str {
        self.inner.name
    }

    /// `Err` at once while the dependency is known to be down.
    pub fn check(&self) -> Result<(), Down> {
        match &*self.lock() {
            None => Ok(()),
            Some(error) => Err(Down {
                name: self.inner.name,
                error: error.clone(),
            }),
        }
    }

    /// A caller found the dependency unreachable: fail fast from now on and probe
    /// at once, so a one-off failure closes the breaker again within a probe.
    pub fn trip(&self, error: impl std::fmt::Display) {
        if self.stopped() {
            return;
        }
        self.inner.trips.fetch_add(1, Ordering::AcqRel);
        let mut down = self.lock();
        if down.is_none() {
            tracing::warn!(dependency = self.inner.name, %error, "dependency down; failing fast until a probe passes");
        }
        *down = Some(error.to_string());
        drop(down);
        self.inner.wake.notify_one();
    }

    /// A probe's outcome; one that passed closes the breaker only if nobody
    /// tripped it since the probe began (`trips` then).
    fn record(&self, trips: u64, outcome: Result<(), String>) {
        if self.stopped() {
            return;
        }
        let tripped_since = self.inner.trips.load(Ordering::Acquire) != trips;
        let mut down = self.lock();
        match outcome {
            Ok(()) if tripped_since => {}
            Ok(()) => {
                if down.take().is_some() {
                    tracing::info!(dependency = self.inner.name, "dependency back");
                }
            }
            Err(error) => {
                if down.is_none() {
                    tracing::warn!(dependency = self.inner.name, %error, "dependency down; failing fast until a probe passes");
                }
                *down = Some(error);
            }
        }
    }

    /// Ends the probing for good, before the dependency is closed on purpose
    /// (at shutdown): what a probe or a caller sees from then on (a closed
    /// pool) is not an outage, so it neither opens the breaker nor logs.
    pub fn stop(&self) {
        self.inner.stopped.store(true, Ordering::Release);
        self.inner.wake.notify_one();
    }

    fn stopped(&self) -> bool {
        self.inner.stopped.load(Ordering::Acquire)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        // The state is a plain value: a panic elsewhere cannot leave it half-written.
        self.inner
            .down
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Probes every `interval` or when woken by a trip, until the breaker is dropped.
async fn probe_loop(inner: Weak<Inner>, probe: ProbeFn, interval: Duration, timeout: Duration) {
    while let Some(inner) = inner.upgrade() {
        let breaker = Breaker { inner };
        if breaker.stopped() {
            return;
        }
        let trips = breaker.inner.trips.load(Ordering::Acquire);
        let outcome = match tokio::time::timeout(timeout, probe()).await {
            Ok(outcome) => outcome,
            Err(_) => Err(format!("no answer within {timeout:?}")),
        };
        breaker.record(trips, outcome);
        // The task holds the breaker only until the next probe: dropping the last
        // clone elsewhere ends it within one interval.
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = breaker.inner.wake.notified() => {}
        }
    }
}

impl std::fmt::Debug for Breaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Breaker")
            .field("name", &self.inner.name)
            .field("down", &*self.lock())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;

    use super::*;

    const INTERVAL: Duration = Duration::from_millis(20);

    /// A breaker whose probe passes while `up` is set.
    fn probed(up: &Arc<AtomicBool>) -> Breaker {
        probed_counting(up, &Arc::new(AtomicU64::new(0)))
    }

    /// [`probed`], counting its probes in `probes`.
    fn probed_counting(up: &Arc<AtomicBool>, probes: &Arc<AtomicU64>) -> Breaker {
        let (up, probes) = (up.clone(), probes.clone());
        Breaker::spawn("database", INTERVAL, Duration::from_secs(1), move || {
            probes.fetch_add(1, Ordering::SeqCst);
            let up = up.load(Ordering::SeqCst);
            async move {
                if up {
                    Ok(())
                } else {
                    Err("connection refused")
                }
            }
        })
    }

    /// Polls until `check` answers `want`, for at most two seconds.
    async fn until(breaker: &Breaker, want: bool) {
        for _ in 0..100 {
            if breaker.check().is_ok() == want {
                return;
            }
            tokio::time::sleep(INTERVAL).await;
        }
        panic!(
            "breaker never became {}",
            if want { "closed" } else { "open" }
        );
    }

    #[tokio::test]
    async fn opens_when_the_probe_fails_and_closes_when_it_passes() {
        let up = Arc::new(AtomicBool::new(true));
        let breaker = probed(&up);
        assert_eq!(breaker.check(), Ok(()));

        up.store(false, Ordering::SeqCst);
        until(&breaker, false).await;
        let down = breaker.check().expect_err("open");
        assert_eq!(
            (down.name, down.error.as_str()),
            ("database", "connection refused")
        );

        up.store(true, Ordering::SeqCst);
        until(&breaker, true).await;
    }

    #[tokio::test]
    async fn a_trip_fails_fast_at_once_until_a_probe_passes() {
        let up = Arc::new(AtomicBool::new(false));
        let breaker = probed(&up);
        until(&breaker, false).await;
        up.store(true, Ordering::SeqCst);
        until(&breaker, true).await;

        up.store(false, Ordering::SeqCst);
        breaker.trip("pool timed out");
        assert!(breaker.check().is_err(), "open as soon as tripped");

        up.store(true, Ordering::SeqCst);
        until(&breaker, true).await;
    }

    #[tokio::test]
    async fn a_probe_that_never_answers_counts_as_failed() {
        let breaker = Breaker::spawn("cache", INTERVAL, INTERVAL, || {
            std::future::pending::<Result<(), String>>()
        });

        until(&breaker, false).await;

        let down = breaker.check().expect_err("open");
        assert!(down.error.starts_with("no answer within"), "{down}");
    }

    #[tokio::test]
    async fn a_stopped_breaker_neither_probes_nor_opens() {
        let probes = Arc::new(AtomicU64::new(0));
        let up = Arc::new(AtomicBool::new(true));
        let breaker = probed_counting(&up, &probes);
        tokio::time::sleep(INTERVAL * 2).await;

        // What shutdown does: stop, then close the pool the probe uses.
        breaker.stop();
        up.store(false, Ordering::SeqCst);
        breaker.trip("attempted to acquire a connection on a closed pool");
        let probes_at_stop = probes.load(Ordering::SeqCst);
        tokio::time::sleep(INTERVAL * 5).await;

        assert_eq!(breaker.check(), Ok(()), "closed on purpose, not down");
        assert_eq!(
            probes.load(Ordering::SeqCst),
            probes_at_stop,
            "no probe after stop"
        );
    }

    #[tokio::test]
    async fn the_probe_stops_with_the_last_clone() {
        let probes = Arc::new(AtomicU64::new(0));
        let counted = probes.clone();
        let breaker = Breaker::spawn("database", INTERVAL, INTERVAL, move || {
            counted.fetch_add(1, Ordering::SeqCst);
            async { Ok::<_, String>(()) }
        });
        tokio::time::sleep(INTERVAL * 3).await;

        drop(breaker);
        tokio::time::sleep(INTERVAL * 2).await;
        let after_drop = probes.load(Ordering::SeqCst);
        tokio::time::sleep(INTERVAL * 5).await;

        assert_eq!(probes.load(Ordering::SeqCst), after_drop);
    }
}
