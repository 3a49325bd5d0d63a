//! Whether a handler is waiting on its client's request body. A request that
//! times out while it is (a Content-Length larger than what was sent, a chunked
//! body that stops, a client gone silent mid-upload) failed on the client's side:
//! it is answered 408, not the 504 of a slow handler.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use http::Request;
use hyper::body::{Frame, SizeHint};

/// Set while the last read of the request body found nothing to read yet.
#[derive(Debug, Clone, Default)]
pub(super) struct UploadWatch(Arc<AtomicBool>);

impl UploadWatch {
    /// `request` with a body that notes here whether its reader is waiting.
    pub(super) fn watch(&self, request: Request<Body>) -> Request<Body> {
        let waiting = self.0.clone();
        request.map(|inner| Body::new(Watched { inner, waiting }))
    }

    /// The handler is blocked on the client's next bytes.
    pub(super) fn stalled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

struct Watched {
    inner: Body,
    waiting: Arc<AtomicBool>,
}

impl HttpBody for Watched {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        self.waiting.store(polled.is_pending(), Ordering::Relaxed);
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
