//! The HTTP accept loop: HTTP/1.1 and HTTP/2 (prior knowledge) on one port, with a
//! header read timeout that `axum::serve` does not offer, a header size limit,
//! keep-alive pings and a stream limit on HTTP/2, and a graceful drain.

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::Service;

use super::{Limits, accept, head};

/// The smallest HTTP/1 read buffer hyper allows.
const MIN_HTTP1_BUFFER: usize = 8192;

/// Serves `router` on `listener` until `shutdown` is cancelled, then stops
/// accepting and waits for open connections to finish their requests.
pub(super) async fn serve(
    transport: &'static str,
    listener: TcpListener,
    router: Router,
    limits: Limits,
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
    let connections = GracefulShutdown::new();
    while let Some((stream, peer)) = accept::next(transport, &listener, &shutdown).await {
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
            // Connect info gives the access log its peer address.
            request.extensions_mut().insert(ConnectInfo(peer));
            let refused = head::refusal(&request, limits.max_header_bytes);
            let mut router = router.clone();
            async move {
                match refused {
                    Some(refused) => Ok(refused),
                    None => router.call(request).await,
                }
            }
        });
        let watcher = connections.watcher();
        let builder = builder.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            if accept::opening(&stream, limits.header_read_timeout, &shutdown)
                .await
                .is_none()
            {
                return;
            }
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            if let Err(err) = watcher.watch(connection.into_owned()).await {
                tracing::debug!(%err, %peer, "HTTP connection ended with an error");
            }
        });
    }
    drop(listener);
    connections.shutdown().await;
}

/// SETTINGS_MAX_HEADER_LIST_SIZE for a limit of `max_header_bytes`.
pub(super) fn header_list_limit(max_header_bytes: usize) -> u32 {
    u32::try_from(head::transport_ceiling(max_header_bytes)).unwrap_or(u32::MAX)
}
