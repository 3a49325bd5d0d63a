//! The HTTP accept loop: HTTP/1.1 and HTTP/2 (prior knowledge) on one port, with a
//! header read timeout that `axum::serve` does not offer, and a graceful drain.

use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tower::Service;

/// Serves `router` on `listener` until `shutdown` is cancelled, then stops
/// accepting and waits for open connections to finish their requests.
pub(super) async fn serve(
    listener: TcpListener,
    router: Router,
    header_read_timeout: Duration,
    shutdown: CancellationToken,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let connections = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors, or a connection reset while queued:
                    // back off a little instead of spinning.
                    tracing::warn!(%err, "accepting an HTTP connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
            // Connect info gives the access log its peer address.
            request.extensions_mut().insert(ConnectInfo(peer));
            let mut router = router.clone();
            async move { router.call(request).await }
        });
        let watcher = connections.watcher();
        let builder = builder.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            if !first_bytes(&stream, header_read_timeout, &shutdown).await {
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

/// Waits until a new connection sends something. hyper's header read timeout
/// starts only once it knows the protocol, which needs the first bytes, so a
/// client that connects and stays silent is dropped here after the same timeout,
/// or as soon as shutdown begins.
async fn first_bytes(stream: &TcpStream, timeout: Duration, shutdown: &CancellationToken) -> bool {
    let mut first = [0u8; 1];
    tokio::select! {
        peeked = tokio::time::timeout(timeout, stream.peek(&mut first)) => {
            matches!(peeked, Ok(Ok(read)) if read > 0)
        }
        () = shutdown.cancelled() => false,
    }
}
