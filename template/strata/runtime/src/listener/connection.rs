//! One connection's life: requests served until the client leaves, the server
//! shuts down, or no request has been open for `idle_timeout` (then hyper closes
//! it: GOAWAY on HTTP/2, a plain close on idle HTTP/1).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tower::Service;

use super::{Limits, head};

/// Serves `router` on `stream` until it ends. Request heads are checked here:
/// [`head::refusal`] answers in HTTP, [`head::grpc_refusal`] with a gRPC status.
pub(super) async fn serve<I>(
    stream: I,
    peer: SocketAddr,
    router: Router,
    builder: &auto::Builder<TokioExecutor>,
    limits: &Limits,
    grpc: bool,
    shutdown: &CancellationToken,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (open, mut watching) = watch::channel(0usize);
    let open = Arc::new(open);
    let max_header_bytes = limits.max_header_bytes;
    let service = hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
        // Connect info gives the access log its peer address.
        request.extensions_mut().insert(ConnectInfo(peer));
        let refused = if grpc {
            head::grpc_refusal(&request, max_header_bytes)
        } else {
            head::refusal(&request, max_header_bytes)
        };
        let mut router = router.clone();
        let open = Open::start(&open);
        async move {
            if let Some(refused) = refused {
                return Ok(refused);
            }
            let response = router.call(request).await?;
            // The request stays open until its response body has been sent.
            Ok::<_, std::convert::Infallible>(response.map(|body| {
                axum::body::Body::new(body.map_frame(move |frame| {
                    let _ = &open;
                    frame
                }))
            }))
        }
    });
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let mut closing = false;
    loop {
        tokio::select! {
            ended = connection.as_mut() => {
                if let Err(err) = ended {
                    tracing::debug!(%err, %peer, "connection ended with an error");
                }
                return;
            }
            () = shutdown.cancelled(), if !closing => {
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
            () = idle(&mut watching, limits.idle_timeout), if !closing => {
                tracing::debug!(%peer, "closing a connection idle for server.idle_timeout");
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
        }
    }
}

/// Resolves once no request has been open for `timeout`.
async fn idle(open: &mut watch::Receiver<usize>, timeout: Duration) {
    loop {
        if open.wait_for(|open| *open == 0).await.is_err() {
            return std::future::pending().await;
        }
        tokio::select! {
            () = tokio::time::sleep(timeout) => return,
            _ = open.wait_for(|open| *open > 0) => {}
        }
    }
}

/// One open request on a connection, counted until dropped.
struct Open(Arc<watch::Sender<usize>>);

impl Open {
    fn start(open: &Arc<watch::Sender<usize>>) -> Self {
        open.send_modify(|open| *open += 1);
        Self(open.clone())
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.send_modify(|open| *open -= 1);
    }
}
