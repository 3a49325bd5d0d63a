//! Client-side adaptive throttling, the circuit breaker of the Google SRE book
//! ("Handling Overload") that Kratos' aegis implements: the client keeps, over a
//! rolling window, how many calls it attempted (`requests`) and how many the
//! upstream answered without failing (`accepts`), and refuses a new call locally
//! with probability `max(0, (requests - k * accepts) / (requests + 1))`. A healthy
//! upstream keeps that at 0; a failing one sees most calls refused, yet a few
//! still go through, so the breaker closes by itself once they succeed.

use std::sync::Mutex;
use std::time::Instant;

use super::window::Window;
use crate::config::Breaker as Settings;

/// One upstream's throttle. Shared by every call to that upstream.
#[derive(Debug)]
pub(crate) struct Throttle {
    enabled: bool,
    k: f64,
    min_requests: u64,
    /// Calls attempted (refused ones included) and calls accepted.
    window: Mutex<Window>,
}

/// Why a call was refused without being sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Refused {
    /// The share of recent calls that failed, 0.0 to 1.0.
    pub failed: f64,
}

impl Throttle {
    pub(crate) fn new(settings: &Settings) -> Self {
        Self {
            enabled: settings.enabled,
            k: settings.k,
            min_requests: u64::from(settings.min_requests),
            window: Mutex::new(Window::new(settings.window, Instant::now())),
        }
    }

    /// Whether a call may be sent now; `roll` is a uniform draw in [0, 1). A
    /// refused call counts as a request (the SRE algorithm: refusals keep the
    /// ratio up until real calls succeed again).
    pub(crate) fn allow(&self, now: Instant, roll: f64) -> Result<(), Refused> {
        if !self.enabled {
            return Ok(());
        }
        let Ok(mut window) = self.window.lock() else {
            return Ok(());
        };
        let (requests, accepts) = window.totals(now);
        if requests < self.min_requests {
            return Ok(());
        }
        let requests_f = requests as f64;
        let drop = ((requests_f - self.k * accepts as f64) / (requests_f + 1.0)).max(0.0);
        if roll < drop {
            window.add(now, 1, 0);
            let failed = 1.0 - accepts as f64 / requests_f;
            return Err(Refused { failed });
        }
        Ok(())
    }

    /// Records the outcome of a call that was sent.
    pub(crate) fn record(&self, now: Instant, accepted: bool) {
        if !self.enabled {
            return;
        }
        if let Ok(mut window) = self.window.lock() {
            window.add(now, 1, u64::from(accepted));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn throttle() -> Throttle {
        Throttle::new(&Settings {
            enabled: true,
            k: 1.5,
            window: Duration::from_secs(10),
            min_requests: 10,
        })
    }

    #[test]
    fn never_refuses_while_calls_succeed() {
        let throttle = throttle();
        let now = Instant::now();
        for _ in 0..1000 {
            throttle.record(now, true);
        }
        // Even the lowest draw passes: the refusal probability is 0.
        assert_eq!(throttle.allow(now, 0.0), Ok(()));
    }

    #[test]
    fn refuses_most_calls_once_every_call_fails_but_lets_some_through() {
        let throttle = throttle();
        let now = Instant::now();
        for _ in 0..100 {
            throttle.record(now, false);
        }
        let refused = throttle.allow(now, 0.5).expect_err("refused");
        assert_eq!(refused.failed, 1.0);
        // 100 failures: probability 100/101, so a draw above it still passes.
        assert_eq!(throttle.allow(now, 0.999), Ok(()));
    }

    #[test]
    fn tolerates_failures_up_to_k() {
        let throttle = throttle();
        let now = Instant::now();
        // 2 of 3 accepted: requests (3n) <= 1.5 * accepts (2n), nothing refused.
        for _ in 0..30 {
            throttle.record(now, true);
            throttle.record(now, true);
            throttle.record(now, false);
        }
        assert_eq!(throttle.allow(now, 0.0), Ok(()));
    }

    #[test]
    fn waits_for_min_requests_before_refusing() {
        let throttle = throttle();
        let now = Instant::now();
        for _ in 0..9 {
            throttle.record(now, false);
        }
        assert_eq!(
            throttle.allow(now, 0.0),
            Ok(()),
            "9 calls are below min_requests"
        );
        throttle.record(now, false);
        assert!(throttle.allow(now, 0.0).is_err());
    }

    #[test]
    fn forgets_failures_older_than_the_window() {
        let throttle = throttle();
        let start = Instant::now();
        for _ in 0..100 {
            throttle.record(start, false);
        }
        assert!(throttle.allow(start, 0.0).is_err());
        let later = start + Duration::from_secs(11);
        assert_eq!(
            throttle.allow(later, 0.0),
            Ok(()),
            "the window has moved on"
        );
    }

    #[test]
    fn a_disabled_breaker_lets_everything_through() {
        let throttle = Throttle::new(&Settings {
            enabled: false,
            ..Settings::default()
        });
        let now = Instant::now();
        for _ in 0..100 {
            throttle.record(now, false);
        }
        assert_eq!(throttle.allow(now, 0.0), Ok(()));
    }
}
