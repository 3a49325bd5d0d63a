//! Giving freed memory back to the system. glibc's allocator keeps what a burst
//! freed in its per-thread arenas: after a flood of connections or streams the
//! process stays resident at its peak although nothing uses the pages.
//! `malloc_trim(0)` returns the free pages of every arena; a background task
//! calls it now and then (`server.trim_memory_every`).
//!
//! Start-up leaves pages behind too: what it freed (config parsing, migrations,
//! descriptor sets decoded once), and the pages of the binary's code that only
//! start-up ran. The kernel maps a file's pages 64 KiB around each one touched,
//! and start-up code is spread over the whole binary, so after start most of
//! its code is resident although serving runs a fraction of it. Once the
//! listeners are up, both go back ([`release_startup`]); the code pages a
//! request needs are mapped again from the page cache on first use.

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

/// Unmaps the pages of the executable's read-only segments (its code and
/// constants, never its data), so the ones only start-up used stop counting in
/// the process's RSS; how many bytes were unmapped. Those pages stay in the
/// page cache, where the kernel can reclaim them, and any one used again is
/// mapped back by a minor fault. Nothing is unmapped while a segment holds a
/// page that differs from the file (a debugger's breakpoint, a uprobe): the
/// page would be lost.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub fn release_code_pages() -> usize {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return 0;
    };
    let mut segments: Vec<(usize, usize)> = Vec::new();
    // SAFETY: dl_iterate_phdr hands the callback valid program headers of each
    // loaded object, the executable first; `segments` outlives the call.
    unsafe {
        libc::dl_iterate_phdr(
            Some(read_only_segments),
            (&raw mut segments).cast::<libc::c_void>(),
        );
    }
    let mut released = 0;
    for (start, end) in segments {
        if anonymous_pages_within(&smaps, start, end) {
            continue;
        }
        // SAFETY: [start, end) is whole pages of a read-only, private file
        // mapping that holds no page of its own: MADV_DONTNEED only drops page
        // table entries, and the next access maps the same bytes from the file.
        if unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) }
            == 0
        {
            released += end - start;
        }
    }
    released
}

/// Elsewhere than Linux nothing is unmapped.
#[cfg(not(target_os = "linux"))]
pub fn release_code_pages() -> usize {
    0
}

/// `dl_iterate_phdr`'s callback: pushes the whole pages of each loaded,
/// non-writable segment of the first object (the executable) to the
/// `Vec<(usize, usize)>` behind `segments`, then stops. Writable segments are
/// left out, with them the relocated RELRO part, which is written at load.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
unsafe extern "C" fn read_only_segments(
    info: *mut libc::dl_phdr_info,
    _size: libc::size_t,
    segments: *mut libc::c_void,
) -> libc::c_int {
    // SAFETY: called by dl_iterate_phdr with a valid `info` and the pointer
    // release_code_pages passed, a live `Vec<(usize, usize)>`.
    let (info, segments) = unsafe { (&*info, &mut *segments.cast::<Vec<(usize, usize)>>()) };
    // SAFETY: sysconf has no preconditions.
    let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    for index in 0..usize::from(info.dlpi_phnum) {
        // SAFETY: dlpi_phdr points at dlpi_phnum program headers.
        let header = unsafe { &*info.dlpi_phdr.add(index) };
        if header.p_type != libc::PT_LOAD || header.p_flags & libc::PF_W != 0 {
            continue;
        }
        let start = (info.dlpi_addr as usize + header.p_vaddr as usize).next_multiple_of(page);
        let end =
            (info.dlpi_addr as usize + (header.p_vaddr + header.p_memsz) as usize) / page * page;
        if end > start {
            segments.push((start, end));
        }
    }
    1 // the executable only: a non-zero return ends the iteration
}

/// Whether any mapping of `smaps` (the text of /proc/self/smaps) overlapping
/// [start, end) holds anonymous pages, or the text cannot be read.
#[cfg(target_os = "linux")]
fn anonymous_pages_within(smaps: &str, start: usize, end: usize) -> bool {
    let mut overlapping = false;
    for line in smaps.lines() {
        if let Some((range, _)) = line.split_once(' ')
            && let Some((from, to)) = range.split_once('-')
            && let (Ok(from), Ok(to)) = (
                usize::from_str_radix(from, 16),
                usize::from_str_radix(to, 16),
            )
        {
            overlapping = from < end && start < to;
        } else if overlapping
            && let Some(kib) = line.strip_prefix("Anonymous:")
            && kib.trim().trim_end_matches("kB").trim() != "0"
        {
            return true;
        }
    }
    false
}

/// What start-up left behind, given back once the listeners are up: the heap it
/// freed ([`release_freed`]) and the code pages only it ran
/// ([`release_code_pages`]); the bytes of code unmapped.
pub fn release_startup() -> usize {
    release_freed();
    release_code_pages()
}

/// Calls [`release_startup`] at once, then [`release_freed`] every `every`, on a
/// blocking thread (it walks and locks each arena in turn), until the runtime
/// stops. A trim that finds nothing costs microseconds; after a burst it takes
/// milliseconds once.
pub(crate) async fn trim_periodically(every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await; // the first tick is immediate: start-up's leftovers
    if let Ok(unmapped) = tokio::task::spawn_blocking(release_startup).await {
        tracing::debug!(unmapped, "returned start-up memory to the system");
    }
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

    #[test]
    fn code_pages_released_are_mapped_again_on_use() {
        let unmapped = release_code_pages();
        if cfg!(target_os = "linux") {
            assert!(unmapped > 0, "the test binary's code is unmapped");
        }
        // Code and constants of the binary still run and read as before.
        let text: String = ["still", "here"].join(" ");
        assert_eq!(text, "still here");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_segment_holding_anonymous_pages_is_left_alone() {
        let smaps = "1000-3000 r-xp 00000000 fe:00 1 /bin/x\nRss: 8 kB\nAnonymous: 4 kB\n\
                     3000-4000 r--p 00000000 fe:00 1 /bin/x\nAnonymous: 0 kB\n";
        assert!(anonymous_pages_within(smaps, 0x2000, 0x3000));
        assert!(!anonymous_pages_within(smaps, 0x3000, 0x4000));
        assert!(!anonymous_pages_within(smaps, 0x5000, 0x6000));
    }
}
