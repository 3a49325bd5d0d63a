//! Draws for request and trace ids, the balancer, the breaker and the backoff
//! jitter: fast, per thread, no system call, not cryptographic (nothing here is a
//! secret; ids need only be unique).

use std::cell::Cell;
use std::hash::{BuildHasher, RandomState};

thread_local! {
    // Seeded from the process's random hash keys; never zero.
    static STATE: Cell<u64> = Cell::new(RandomState::new().hash_one(std::thread::current().id()) | 1);
}

/// A uniform draw in [0, 1).
pub(crate) fn unit() -> f64 {
    (next() >> 11) as f64 / (1u64 << 53) as f64
}

/// A uniform draw in [0, n); 0 when n is 0.
pub(crate) fn below(n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    (next() % n as u64) as usize
}

/// A uniform 64-bit draw: xorshift64*.
pub(crate) fn next() -> u64 {
    STATE.with(|state| {
        let mut x = state.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        state.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_stay_in_range_and_cover_it() {
        let mut seen = [false; 3];
        for _ in 0..1000 {
            let u = unit();
            assert!((0.0..1.0).contains(&u));
            seen[below(3)] = true;
        }
        assert_eq!(seen, [true; 3]);
        assert_eq!(below(0), 0);
    }
}
