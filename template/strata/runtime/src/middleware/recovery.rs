//! A panicking handler becomes INTERNAL for its transport; the panic is logged and
//! counted, and the process keeps serving.
//!
//! tower-http's `CatchPanic` did this before, and boxed every response body once
//! more on the way; this layer hands the response on as it is.

use std::any::Any;
use std::future::{Future, Ready, ready};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use http::{Request, Response};
use pin_project_lite::pin_project;
use tonic::Status;
use tower::{Layer, Service};

use super::Transport;
use crate::error::render;
use crate::{Metrics, config};

/// Catches a panic of the service beneath, in its `call` or while its future is
/// polled, when `middleware.recovery` is on; lets it through when off.
#[derive(Debug, Clone)]
pub(super) struct RecoveryLayer(Option<PanicResponse>);

impl RecoveryLayer {
    pub(super) fn new(
        transport: Transport,
        middleware: &config::Middleware,
        metrics: &Metrics,
    ) -> Self {
        Self(middleware.recovery.then(|| PanicResponse {
            transport,
            metrics: metrics.clone(),
        }))
    }
}

impl<S> Layer<S> for RecoveryLayer {
    type Service = Recovery<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Recovery {
            inner,
            on_panic: self.0.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Recovery<S> {
    inner: S,
    on_panic: Option<PanicResponse>,
}

impl<S, B> Service<Request<B>> for Recovery<S>
where
    S: Service<Request<B>, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Recovered<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let Some(on_panic) = &self.on_panic else {
            return Recovered::Running {
                future: self.inner.call(request),
                on_panic: None,
            };
        };
        match catch_unwind(AssertUnwindSafe(|| self.inner.call(request))) {
            Ok(future) => Recovered::Running {
                future,
                on_panic: Some(on_panic.clone()),
            },
            Err(panic) => Recovered::Panicked {
                answer: ready(Ok(on_panic.answer(panic))),
            },
        }
    }
}

pin_project! {
    /// The future of [`Recovery`].
    #[project = RecoveredProj]
    pub(super) enum Recovered<F>
    where
        F: Future,
    {
        /// The inner service's future; its panics are caught when `on_panic` is set.
        Running {
            #[pin]
            future: F,
            on_panic: Option<PanicResponse>,
        },
        /// The inner service's `call` panicked: the answer is ready.
        Panicked { answer: Ready<F::Output> },
    }
}

impl<F, E> Future for Recovered<F>
where
    F: Future<Output = Result<Response<Body>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            RecoveredProj::Running {
                future,
                on_panic: None,
            } => future.poll(cx),
            RecoveredProj::Running {
                future,
                on_panic: Some(on_panic),
            } => match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
                Ok(polled) => polled,
                Err(panic) => Poll::Ready(Ok(on_panic.answer(panic))),
            },
            RecoveredProj::Panicked { answer } => Pin::new(answer).poll(cx),
        }
    }
}

/// What a panic is answered with: INTERNAL for its transport, logged and counted.
#[derive(Debug, Clone)]
pub(super) struct PanicResponse {
    transport: Transport,
    metrics: Metrics,
}

impl PanicResponse {
    fn answer(&self, panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
        let message = panic
            .downcast_ref::<&str>()
            .map(|text| (*text).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic payload".to_owned());
        tracing::error!(panic = %message, "handler panicked");
        self.metrics.panicked();
        render(self.transport, Status::internal("internal error"))
    }
}
