//! One connection's life: requests served until the client leaves, the server
//! shuts down, or no request has been open for `idle_timeout` (then hyper closes
//! it: GOAWAY on HTTP/2, a plain close on idle HTTP/1).

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::body::{Bytes, Frame, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;
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
    let activity = Arc::new(Activity::new());
    let open = activity.clone();
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
            let response = match refused {
                Some(refused) => refused,
                None => router.call(request).await?,
            };
            // The request stays open until its response body has been sent.
            Ok::<_, std::convert::Infallible>(response.map(|body| OpenBody { body, _open: open }))
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
            () = idle(&activity, limits.idle_timeout), if !closing => {
                tracing::debug!(%peer, "closing a connection idle for server.idle_timeout");
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
        }
    }
}

/// Resolves once no request has been open for `timeout`. The timer is looked at
/// once per `timeout`, not re-armed by every request: a request costs two atomic
/// writes here rather than waking this connection's task twice.
async fn idle(activity: &Activity, timeout: Duration) {
    let mut deadline = Instant::now() + timeout;
    loop {
        tokio::time::sleep_until(deadline).await;
        deadline = match activity.idle_since() {
            Some(since) if since + timeout <= Instant::now() => return,
            Some(since) => since + timeout,
            None => Instant::now() + timeout,
        };
    }
}

/// How many requests a connection has open, and since when none has been.
struct Activity {
    opened_at: Instant,
    open: AtomicUsize,
    /// When the last request ended, in nanoseconds after `opened_at`.
    last_ended: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            opened_at: Instant::now(),
            open: AtomicUsize::new(0),
            last_ended: AtomicU64::new(0),
        }
    }

    /// Since when no request has been open, or `None` while one is.
    fn idle_since(&self) -> Option<Instant> {
        if self.open.load(Ordering::Acquire) > 0 {
            return None;
        }
        let nanos = self.last_ended.load(Ordering::Acquire);
        Some(self.opened_at + Duration::from_nanos(nanos))
    }
}

/// A response body that keeps its request counted open until it is dropped: a
/// plain struct rather than one more boxed body around it.
struct OpenBody {
    body: Body,
    _open: Open,
}

impl hyper::body::Body for OpenBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        hyper::body::Body::poll_frame(Pin::new(&mut self.body), cx)
    }

    fn is_end_stream(&self) -> bool {
        hyper::body::Body::is_end_stream(&self.body)
    }

    fn size_hint(&self) -> SizeHint {
        hyper::body::Body::size_hint(&self.body)
    }
}

/// One open request on a connection, counted until dropped.
struct Open(Arc<Activity>);

impl Open {
    fn start(activity: &Arc<Activity>) -> Self {
        activity.open.fetch_add(1, Ordering::AcqRel);
        Self(activity.clone())
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        // The end is written before the count falls, so a count of zero is never
        // read with the end of an earlier idle spell.
        let ended = self.0.opened_at.elapsed().as_nanos();
        self.0
            .last_ended
            .fetch_max(u64::try_from(ended).unwrap_or(u64::MAX), Ordering::AcqRel);
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn idle_only_once_the_last_request_has_ended_for_the_timeout() {
        let timeout = Duration::from_millis(50);
        let activity = Arc::new(Activity::new());
        let first = Open::start(&activity);
        let second = Open::start(&activity);
        let idle = idle(&activity, timeout);
        tokio::pin!(idle);

        // Open requests outlast several timeouts: never idle meanwhile.
        let busy = tokio::time::timeout(timeout * 4, idle.as_mut()).await;
        assert!(busy.is_err(), "idle with two requests open");
        drop(first);
        let busy = tokio::time::timeout(timeout * 2, idle.as_mut()).await;
        assert!(busy.is_err(), "idle with a request open");

        let ended = Instant::now();
        drop(second);
        tokio::time::timeout(Duration::from_secs(10), idle)
            .await
            .expect("idle once no request is open");
        assert!(ended.elapsed() >= timeout, "idle before the timeout");
    }
}
