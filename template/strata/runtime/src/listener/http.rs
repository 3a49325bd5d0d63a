//! The accept loop of every listener: HTTP/1.1 and HTTP/2 (prior knowledge) on the
//! HTTP and admin ports, HTTP/2 only on the gRPC port, over TLS when the listener
//! has an acceptor, each connection served by
//! [`connection::serve`], with a header size limit on both HTTP versions. At most
//! `max_connections` are open at once; the permits also tell the drain when the
//! last one has ended.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::{Limits, accept, connection, head, tls};

/// How often a full listener logs the connections it refused: a flood must not
/// become a flood of log lines.
const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(1);

/// The smallest HTTP/1 read buffer hyper allows.
const MIN_HTTP1_BUFFER: usize = 8192;

/// Serves `router` on `listener` until `shutdown` is cancelled, then stops
/// accepting and waits for open connections to finish their requests. `http2_only`
/// (gRPC) closes connections that do not open with the HTTP/2 preface.
pub(super) async fn serve(
    transport: &'static str,
    listener: TcpListener,
    router: Router,
    limits: Limits,
    http2_only: bool,
    tls: Option<Arc<tls::Reloading>>,
    shutdown: CancellationToken,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(head::transport_ceiling(limits.max_header_bytes).max(MIN_HTTP1_BUFFER));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(header_list_limit(limits.max_header_bytes))
        .max_concurrent_streams(limits.max_concurrent_streams)
        .keep_alive_interval(limits.keepalive_interval)
        .keep_alive_timeout(limits.keepalive_timeout);
    if http2_only {
        builder = builder.http2_only();
    }
    let max = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let open = Arc::new(Semaphore::new(max));
    let mut refusals = Refusals::default();
    while let Some((stream, peer)) = accept::next(transport, &listener, &shutdown).await {
        let Ok(permit) = open.clone().try_acquire_owned() else {
            // Closing at once (rather than leaving it queued) tells the client to
            // retry elsewhere and keeps the accept queue moving for the next one.
            drop(stream);
            refusals.count(transport, max);
            continue;
        };
        let router = router.clone();
        let builder = builder.clone();
        let shutdown = shutdown.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let timeout = limits.header_read_timeout;
            if let Some(tls) = tls {
                let handshake = tls::handshake(&tls, stream, timeout, http2_only, &shutdown);
                if let Some(stream) = handshake.await {
                    connection::serve(
                        stream, peer, router, &builder, &limits, http2_only, &shutdown,
                    )
                    .await;
                }
                drop(permit);
                return;
            }
            let opening = accept::opening(&stream, timeout, &shutdown).await;
            let shown = match opening {
                Some(accept::Opening::Http2) => true,
                Some(accept::Opening::Other) => !http2_only,
                None => false,
            };
            if shown {
                connection::serve(
                    stream, peer, router, &builder, &limits, http2_only, &shutdown,
                )
                .await;
            }
            drop(permit);
        });
    }
    drop(listener);
    // Every permit back: every connection has ended.
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    let _ = open.acquire_many(all).await;
}

/// Connections refused since the last log line.
#[derive(Default)]
struct Refusals {
    since_logged: u64,
    logged_at: Option<Instant>,
}

impl Refusals {
    fn count(&mut self, transport: &'static str, max_connections: usize) {
        self.since_logged += 1;
        if self
            .logged_at
            .is_some_and(|at| at.elapsed() < REFUSAL_LOG_EVERY)
        {
            return;
        }
        tracing::warn!(
            transport,
            max_connections,
            refused = self.since_logged,
            "connections refused: the listener is at server.max_connections"
        );
        self.since_logged = 0;
        self.logged_at = Some(Instant::now());
    }
}

/// SETTINGS_MAX_HEADER_LIST_SIZE for a limit of `max_header_bytes`.
pub(super) fn header_list_limit(max_header_bytes: usize) -> u32 {
    u32::try_from(head::transport_ceiling(max_header_bytes)).unwrap_or(u32::MAX)
}
