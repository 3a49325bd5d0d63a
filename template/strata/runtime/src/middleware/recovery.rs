//! A panicking handler becomes INTERNAL for its transport; the panic is logged and
//! counted, and the process keeps serving.

use std::any::Any;

use axum::body::Body;
use http::Response;
use tonic::Status;
use tower_http::catch_panic::ResponseForPanic;

use super::Transport;
use crate::Metrics;
use crate::error::render;

#[derive(Debug, Clone)]
pub(super) struct PanicResponse {
    transport: Transport,
    metrics: Metrics,
}

impl PanicResponse {
    pub(super) fn new(transport: Transport, metrics: &Metrics) -> Self {
        Self {
            transport,
            metrics: metrics.clone(),
        }
    }
}

impl ResponseForPanic for PanicResponse {
    type ResponseBody = Body;

    fn response_for_panic(&mut self, panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
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
