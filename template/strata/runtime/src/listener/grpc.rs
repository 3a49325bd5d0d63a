//! The gRPC accept loop: tonic serves connections that have sent the HTTP/2
//! preface in time, with keep-alive pings, a stream limit and a header limit.

use std::io;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;

use super::Limits;
use super::accept::{self, Opening};
use super::head;

/// Serves `routes` on `listener` until `shutdown` is cancelled, then stops
/// accepting and waits for open calls to finish.
pub(super) async fn serve(
    listener: TcpListener,
    routes: tonic::service::Routes,
    limits: Limits,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let (ready, incoming) = mpsc::channel::<TcpStream>(64);
    let accepting = tokio::spawn(admit(listener, limits, shutdown.clone(), ready));
    let served = tonic::transport::Server::builder()
        .max_concurrent_streams(limits.max_concurrent_streams)
        .http2_max_header_list_size(super::http::header_list_limit(limits.max_header_bytes))
        .http2_keepalive_interval(Some(limits.keepalive_interval))
        .http2_keepalive_timeout(Some(limits.keepalive_timeout))
        .add_routes(head::limit_grpc(routes, limits.max_header_bytes))
        .serve_with_incoming_shutdown(
            ReceiverStream::new(incoming).map(Ok::<_, io::Error>),
            shutdown.cancelled_owned(),
        )
        .await
        .map_err(io::Error::other);
    accepting.abort();
    served
}

/// Accepts connections (backing off when accept fails) and hands tonic those
/// that send the HTTP/2 preface within the header read timeout; the rest are
/// closed.
async fn admit(
    listener: TcpListener,
    limits: Limits,
    shutdown: CancellationToken,
    ready: mpsc::Sender<TcpStream>,
) {
    while let Some((stream, _peer)) = accept::next("grpc", &listener, &shutdown).await {
        let ready = ready.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let opening = accept::opening(&stream, limits.header_read_timeout, &shutdown).await;
            if opening == Some(Opening::Http2) {
                // Fails only once the server has stopped; the connection is dropped.
                let _ = ready.send(stream).await;
            }
        });
    }
}
