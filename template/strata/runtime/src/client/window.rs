//! Two counters over a rolling window, cut into ten buckets so old counts leave
//! a tenth at a time: the breaker's calls and successes, the retry budget's
//! calls and retries.

use std::time::{Duration, Instant};

/// Buckets the window is cut into.
const BUCKETS: usize = 10;

#[derive(Debug)]
pub(crate) struct Window {
    /// Both counts per bucket, the current one at `current`.
    buckets: [(u64, u64); BUCKETS],
    current: usize,
    /// When the current bucket began.
    began: Instant,
    bucket_span: Duration,
}

impl Window {
    /// A window spanning `span`, empty.
    pub(crate) fn new(span: Duration, now: Instant) -> Self {
        Self {
            buckets: [(0, 0); BUCKETS],
            current: 0,
            began: now,
            bucket_span: span / BUCKETS as u32,
        }
    }

    /// Both counts over the window ending `now`.
    pub(crate) fn totals(&mut self, now: Instant) -> (u64, u64) {
        self.advance(now);
        self.buckets
            .iter()
            .fold((0, 0), |(a, b), (ba, bb)| (a + ba, b + bb))
    }

    /// Adds `first` and `second` to the counts at `now`.
    pub(crate) fn add(&mut self, now: Instant, first: u64, second: u64) {
        self.advance(now);
        let bucket = &mut self.buckets[self.current];
        bucket.0 += first;
        bucket.1 += second;
    }

    /// Moves to the bucket `now` falls in, emptying the buckets passed over.
    fn advance(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.began);
        let passed = (elapsed.as_nanos() / self.bucket_span.as_nanos().max(1)) as usize;
        if passed == 0 {
            return;
        }
        if passed >= BUCKETS {
            self.buckets = [(0, 0); BUCKETS];
            self.began = now;
            return;
        }
        for _ in 0..passed {
            self.current = (self.current + 1) % BUCKETS;
            self.buckets[self.current] = (0, 0);
        }
        // `passed` is below BUCKETS here.
        self.began += self.bucket_span * passed as u32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_leave_the_window_a_bucket_at_a_time() {
        let start = Instant::now();
        let mut window = Window::new(Duration::from_secs(10), start);
        window.add(start, 5, 1);
        window.add(start + Duration::from_secs(5), 3, 0);
        assert_eq!(window.totals(start + Duration::from_secs(9)), (8, 1));
        assert_eq!(window.totals(start + Duration::from_secs(10)), (3, 0));
        assert_eq!(window.totals(start + Duration::from_secs(30)), (0, 0));
    }
}
