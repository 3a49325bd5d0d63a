//! A log sink written by a background thread. Lines are appended to one shared
//! buffer that the thread takes whole and writes in one go: a request pays for a
//! lock and a copy, not an allocation per line, a cross-thread free or a system
//! call (the thread is woken only when it sleeps).
//!
//! After each write the thread lets lines gather for [`GATHER`] before it looks
//! again. Without that pause a busy service woke each sink's thread for nearly
//! every request: two context switches a request on the request's core, which
//! cost more wall time than formatting the line (docs/bench.md, "Context
//! switches").

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// Bytes a sink holds before it drops lines (`lossy`) or makes writers wait:
/// about 3,000 access lines, a second of bursts.
const LIMIT: usize = 1024 * 1024;
/// A drained buffer keeps at most this much memory between bursts.
const KEPT: usize = 64 * 1024;
/// How long lines gather after a write: at most 500 writes (and wake-ups) a
/// second per sink under load, and a line reaches its sink within a few ms.
const GATHER: Duration = Duration::from_millis(2);

/// Appends lines for the sink's thread to write.
#[derive(Clone, Debug)]
pub(super) struct Sink(Arc<Shared>);

/// Stops the sink's thread once it has written every line; on drop.
#[derive(Debug)]
pub(super) struct Flush {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    /// Wakes the thread: lines are waiting, or the sink is closing.
    ready: Condvar,
    /// Wakes writers waiting for room (a sink that is not lossy).
    drained: Condvar,
    lossy: bool,
}

#[derive(Debug, Default)]
struct State {
    lines: Vec<u8>,
    asleep: bool,
    closed: bool,
}

impl Sink {
    /// Starts the thread `name` writing to `out`. A `lossy` sink drops the lines
    /// that find it full; otherwise the writer waits for room.
    pub(super) fn spawn<W: Write + Send + 'static>(
        name: &str,
        out: W,
        lossy: bool,
    ) -> std::io::Result<(Self, Flush)> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            ready: Condvar::new(),
            drained: Condvar::new(),
            lossy,
        });
        let thread = std::thread::Builder::new().name(name.to_owned()).spawn({
            let shared = shared.clone();
            move || shared.drain_into(out)
        })?;
        Ok((
            Self(shared.clone()),
            Flush {
                shared,
                thread: Some(thread),
            },
        ))
    }

    /// Queues `line` (one or more whole lines, newline included).
    pub(super) fn write(&self, line: &[u8]) {
        let shared = &*self.0;
        let mut state = shared.lock();
        while state.lines.len() + line.len() > LIMIT && !state.lines.is_empty() && !state.closed {
            if shared.lossy {
                return;
            }
            state = shared
                .drained
                .wait(state)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        state.lines.extend_from_slice(line);
        if std::mem::take(&mut state.asleep) {
            drop(state);
            shared.ready.notify_one();
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves only bytes behind: keep going.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The thread: takes whatever is queued, writes and flushes it, lets the
    /// next lines gather, until closed and empty. Write errors are dropped: there
    /// is nowhere left to report them.
    fn drain_into<W: Write>(&self, mut out: W) {
        let mut taken = Vec::new();
        loop {
            let closed = {
                let mut state = self.lock();
                while state.lines.is_empty() && !state.closed {
                    state.asleep = true;
                    state = self
                        .ready
                        .wait(state)
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                }
                if state.lines.is_empty() {
                    return;
                }
                std::mem::swap(&mut state.lines, &mut taken);
                state.closed
            };
            self.drained.notify_all();
            let _ = out.write_all(&taken).and_then(|()| out.flush());
            taken.clear();
            taken.shrink_to(KEPT);
            if !closed {
                std::thread::sleep(GATHER);
            }
        }
    }
}

impl Drop for Flush {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.ready.notify_one();
        self.shared.drained.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;

    /// Collects what the thread writes.
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

    #[test]
    fn every_line_from_every_thread_is_written_whole_before_the_flush_returns() {
        let out = Collected::default();
        let (sink, flush) = Sink::spawn("test-log", out.clone(), false).expect("thread");
        let writers: Vec<_> = (0..4)
            .map(|writer| {
                let sink = sink.clone();
                std::thread::spawn(move || {
                    for line in 0..2_000 {
                        sink.write(format!("writer {writer} line {line}\n").as_bytes());
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().expect("writer");
        }
        drop(flush);

        let text = String::from_utf8(out.0.lock().expect("lock").clone()).expect("UTF-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 8_000);
        for writer in 0..4 {
            let own: Vec<&str> = lines
                .iter()
                .copied()
                .filter(|line| line.starts_with(&format!("writer {writer} ")))
                .collect();
            let expected: Vec<String> = (0..2_000)
                .map(|line| format!("writer {writer} line {line}"))
                .collect();
            assert_eq!(own, expected, "writer {writer}'s lines, in order");
        }
    }

    /// Never finishes a write: the sink fills up.
    struct Stuck;

    impl io::Write for Stuck {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            std::thread::park();
            Err(io::ErrorKind::Interrupted.into())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_lossy_sink_that_is_full_drops_lines_instead_of_waiting() {
        let (sink, flush) = Sink::spawn("test-log", Stuck, true).expect("thread");
        let line = [b'x'; 1023];
        // Twice the limit: the first batch goes to the stuck writer, the rest
        // fills the buffer; none of this may block.
        for _ in 0..2 * LIMIT / 1024 {
            sink.write(&line);
        }
        let queued = sink.0.lock().lines.len();
        assert!(queued <= LIMIT, "{queued} bytes queued");
        // The thread never returns from `Stuck`; leave it behind.
        std::mem::forget(flush);
    }
}
