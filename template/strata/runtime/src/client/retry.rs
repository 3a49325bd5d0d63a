//! Which failed calls are tried again, how long to wait first, and the budget
//! that keeps retries from multiplying the load on a failing upstream.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::random;
use super::window::Window;
use crate::config::Retry as Settings;

/// How long a call counts towards the budget (finagle's and tower's default).
const BUDGET_WINDOW: Duration = Duration::from_secs(10);

/// A failed attempt, as far as trying it again goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failed {
    /// The request never left this process: the connection to the instance
    /// could not be made. Any method may be tried again, on another instance.
    Unsent,
    /// The request may have reached a handler: only a method marked safe to
    /// repeat is tried again, and only when it failed with UNAVAILABLE.
    Sent { code: tonic::Code, marked: bool },
}

/// One upstream's retry rules and budget.
#[derive(Debug)]
pub(crate) struct RetryPolicy {
    max_attempts: u32,
    backoff: Duration,
    methods: Vec<glob::Pattern>,
    /// Retries allowed per call.
    ratio: f64,
    /// Retries allowed per window whatever the calls.
    reserve: f64,
    /// Calls and retries over the last [`BUDGET_WINDOW`]. Checked and counted
    /// under one lock: tower's `TpsBudget` checks, then withdraws, so retries
    /// racing each other overdraw it.
    budget: Mutex<Window>,
}

impl RetryPolicy {
    /// The policy `settings` describe; a method glob that does not parse is
    /// named in the error.
    pub(crate) fn new(settings: &Settings) -> Result<Self, String> {
        let methods = settings
            .methods
            .iter()
            .map(|method| {
                glob::Pattern::new(method).map_err(|err| format!("retry.methods {method:?}: {err}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            max_attempts: settings.max_attempts,
            backoff: settings.backoff,
            methods,
            ratio: f64::from(settings.budget),
            reserve: f64::from(settings.min_per_second) * BUDGET_WINDOW.as_secs_f64(),
            budget: Mutex::new(Window::new(BUDGET_WINDOW, Instant::now())),
        })
    }

    /// Whether calls to `operation` may be retried after they were sent: marked
    /// safe to repeat, and more than one attempt configured.
    pub(crate) fn covers(&self, operation: &str) -> bool {
        self.max_attempts > 1 && self.methods.iter().any(|glob| glob.matches(operation))
    }

    /// Counts a new call (not a retry) towards the budget.
    pub(crate) fn deposit(&self) {
        if let Ok(mut budget) = self.budget.lock() {
            budget.add(Instant::now(), 1, 0);
        }
    }

    /// Whether the call whose `attempt`-th attempt (1-based) just `failed` is
    /// tried again; takes a retry from the budget when it is.
    pub(crate) fn again(&self, attempt: u32, failed: Failed) -> bool {
        let safe = match failed {
            Failed::Unsent => true,
            Failed::Sent { code, marked } => marked && code == tonic::Code::Unavailable,
        };
        safe && attempt < self.max_attempts && self.withdraw()
    }

    /// Takes one retry from the budget, if the window has one left.
    fn withdraw(&self) -> bool {
        let Ok(mut budget) = self.budget.lock() else {
            return false;
        };
        let now = Instant::now();
        let (calls, retries) = budget.totals(now);
        let left = self.ratio * calls as f64 + self.reserve - retries as f64;
        if left >= 1.0 {
            budget.add(now, 0, 1);
        }
        left >= 1.0
    }

    /// The wait before retry number `retry` (1-based): `backoff` doubled each
    /// time, a random point in its upper half (jitter spreads the retries of many
    /// callers).
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        let full = self.backoff * 2u32.saturating_pow(retry.saturating_sub(1).min(10));
        full.mul_f64(0.5 + random::unit() / 2.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(budget: f32, min_per_second: u32) -> RetryPolicy {
        RetryPolicy::new(&Settings {
            max_attempts: 3,
            backoff: Duration::from_millis(10),
            budget,
            min_per_second,
            methods: vec!["/helloworld.v1.Greeter/*".to_owned()],
        })
        .expect("valid")
    }

    #[test]
    fn retries_only_marked_methods() {
        let policy = policy(0.2, 0);
        assert!(policy.covers("/helloworld.v1.Greeter/SayHello"));
        assert!(!policy.covers("/notes.v1.Notes/CreateNote"));
        let once = RetryPolicy::new(&Settings {
            max_attempts: 1,
            ..Settings::default()
        })
        .expect("valid");
        assert!(!once.covers("/helloworld.v1.Greeter/SayHello"));
    }

    const UNAVAILABLE: Failed = Failed::Sent {
        code: tonic::Code::Unavailable,
        marked: true,
    };

    #[test]
    fn retries_unavailable_only_and_within_max_attempts() {
        let policy = policy(1.0, 0);
        for _ in 0..10 {
            policy.deposit();
        }
        let sent = |code| Failed::Sent { code, marked: true };
        assert!(!policy.again(1, sent(tonic::Code::InvalidArgument)));
        assert!(!policy.again(1, sent(tonic::Code::DeadlineExceeded)));
        assert!(policy.again(1, UNAVAILABLE));
        assert!(policy.again(2, UNAVAILABLE));
        assert!(!policy.again(3, UNAVAILABLE), "3 attempts at most");
    }

    #[test]
    fn any_method_is_retried_when_its_request_was_never_sent() {
        let policy = policy(1.0, 0);
        for _ in 0..10 {
            policy.deposit();
        }
        let unmarked = Failed::Sent {
            code: tonic::Code::Unavailable,
            marked: false,
        };
        assert!(!policy.again(1, unmarked), "it may have reached a handler");
        assert!(policy.again(1, Failed::Unsent));
        assert!(!policy.again(3, Failed::Unsent), "3 attempts at most");
        let once = RetryPolicy::new(&Settings {
            max_attempts: 1,
            ..Settings::default()
        })
        .expect("valid");
        assert!(!once.again(1, Failed::Unsent), "max_attempts 1: no retries");
    }

    #[test]
    fn the_budget_caps_retries_to_a_share_of_calls() {
        let policy = policy(0.2, 0);
        for _ in 0..100 {
            policy.deposit();
        }
        let retries = (0..100).filter(|_| policy.again(1, UNAVAILABLE)).count();
        assert_eq!(retries, 20, "20% of 100 calls");
    }

    #[test]
    fn min_per_second_allows_retries_before_any_call() {
        let policy = policy(0.2, 1);
        let retries = (0..100).filter(|_| policy.again(1, UNAVAILABLE)).count();
        assert_eq!(retries, 10, "1 per second over the 10 s window");
    }

    #[test]
    fn backoff_doubles_with_jitter() {
        let policy = policy(0.2, 0);
        for retry in 1..=3 {
            let full = Duration::from_millis(10) * 2u32.pow(retry - 1);
            let wait = policy.backoff(retry);
            assert!(
                wait >= full / 2 && wait <= full,
                "{wait:?} for retry {retry}"
            );
        }
    }

    #[test]
    fn a_bad_glob_is_named() {
        let err = RetryPolicy::new(&Settings {
            methods: vec!["/a/[".to_owned()],
            ..Settings::default()
        })
        .expect_err("bad glob");
        assert!(err.contains("/a/["), "{err}");
    }
}
