//! Giving freed memory back to the system. glibc's allocator keeps what a burst
//! freed in its per-thread arenas: after a flood of connections or streams the
//! process stays resident at its peak although nothing uses the pages.
//! `malloc_trim(0)` returns the free pages of every arena; a background task
//! calls it now and then (`server.trim_memory_every`).
//!
//! Start-up leaves freed heap behind too (config parsing, migrations, descriptor
//! sets decoded once): the first trim runs as soon as the listeners are up.

use std::time::Duration;

/// Returns the allocator's free pages to the system; whether any came back.
/// Elsewhere than glibc (musl, macOS) it does nothing: those allocators give
/// memory back themselves or have no such call.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn release_freed() -> bool {
    // SAFETY: malloc_trim takes no pointers and touches only glibc's own free
    // lists, under the arena locks every other allocator call takes too.
    unsafe { libc::malloc_trim(0) == 1 }
}

/// Returns the allocator's free pages to the system; whether any came back.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_freed() -> bool {
    false
}

/// Calls [`release_freed`] at once (what start-up freed), then every `every`, on
/// a blocking thread (it walks and locks each arena in turn), until the runtime
/// stops. A trim that finds nothing costs microseconds; after a burst it takes
/// milliseconds once.
pub(crate) async fn trim_periodically(every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Ok(true) = tokio::task::spawn_blocking(release_freed).await {
            tracing::debug!("returned freed memory to the system");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trim_after_a_freed_burst_gives_pages_back() {
        // 64 MiB in small blocks, then one block above them that stays live, so
        // freeing the burst cannot shrink the heap from its top by itself.
        let burst: Vec<Vec<u8>> = (0..16_384_u32).map(|n| vec![n as u8; 4096]).collect();
        let pin = vec![1_u8; 4096];
        drop(burst);
        let released = release_freed();
        assert_eq!(
            released,
            cfg!(all(target_os = "linux", target_env = "gnu")),
            "glibc gives the burst's pages back; other allocators have nothing to do"
        );
        assert_eq!(pin[4095], 1);
    }
}
