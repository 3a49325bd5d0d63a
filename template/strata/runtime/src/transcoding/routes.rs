//! [`HttpRoutes`]: every binding of every service, matched by the runtime
//! itself (see `matcher`) behind one axum fallback, so templates axum's router
//! cannot express are served too, and two services' routes never clash in it.

use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use prost_reflect::DescriptorPool;
use tonic::Status;

use super::{Binding, Transcoder, matcher};
use crate::error::Error;

type Reply = Pin<Box<dyn Future<Output = Response> + Send>>;

/// Serves one binding: the request and where in its path the raw text of each
/// path variable lies.
type Handler = Arc<dyn Fn(Request, Vec<Range<usize>>) -> Reply + Send + Sync>;

/// The HTTP routes of one or more services, as `<service>_http_routes`
/// returns them; [`merge`](Self::merge) them, then turn them into an
/// [`axum::Router`] (`Router::from`, or `Router::merge` for a single set).
#[derive(Clone, Default)]
pub struct HttpRoutes {
    entries: Vec<Entry>,
}

#[derive(Clone)]
struct Entry {
    binding: &'static Binding,
    handler: Handler,
}

impl std::fmt::Debug for HttpRoutes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(
                self.entries
                    .iter()
                    .map(|e| (e.binding.method, e.binding.path)),
            )
            .finish()
    }
}

impl HttpRoutes {
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves a unary rpc at `binding`: decodes the request, calls
    /// `call(service, request)` and encodes what it returns.
    ///
    /// # Panics
    ///
    /// At startup, if `pool` lacks the binding's messages: the generator wrote
    /// both from the same descriptors, so that means a stale build.
    pub fn unary<S, Req, Res, F, Fut>(
        self,
        pool: &DescriptorPool,
        binding: &'static Binding,
        service: Arc<S>,
        call: F,
    ) -> Self
    where
        S: Send + Sync + 'static,
        Req: prost::Message + Default + 'static,
        Res: prost::Message + 'static,
        F: Fn(Arc<S>, tonic::Request<Req>) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<tonic::Response<Res>, Status>> + Send + 'static,
    {
        let transcoder = Arc::new(Transcoder::new(pool, binding));
        let handler: Handler = Arc::new(move |request, captures| {
            let (transcoder, service, call) = (transcoder.clone(), service.clone(), call.clone());
            Box::pin(async move {
                transcoder
                    .unary(request, captures, move |message| call(service, message))
                    .await
            })
        });
        self.with(binding, handler)
    }

    /// Serves a server-streaming rpc at `binding` as Server-Sent Events, or
    /// newline-delimited JSON when the client accepts `application/x-ndjson`.
    ///
    /// # Panics
    ///
    /// As [`unary`](Self::unary).
    pub fn server_stream<S, Req, Res, St, F, Fut>(
        self,
        pool: &DescriptorPool,
        binding: &'static Binding,
        service: Arc<S>,
        call: F,
    ) -> Self
    where
        S: Send + Sync + 'static,
        Req: prost::Message + Default + 'static,
        Res: prost::Message + 'static,
        St: tokio_stream::Stream<Item = Result<Res, Status>> + Send + 'static,
        F: Fn(Arc<S>, tonic::Request<Req>) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<tonic::Response<St>, Status>> + Send + 'static,
    {
        let transcoder = Arc::new(Transcoder::new(pool, binding));
        let handler: Handler = Arc::new(move |request, captures| {
            let (transcoder, service, call) = (transcoder.clone(), service.clone(), call.clone());
            Box::pin(async move {
                transcoder
                    .server_stream(request, captures, move |message| call(service, message))
                    .await
            })
        });
        self.with(binding, handler)
    }

    pub(super) fn with(mut self, binding: &'static Binding, handler: Handler) -> Self {
        self.entries.push(Entry { binding, handler });
        self
    }

    /// These routes and `other`'s.
    pub fn merge(mut self, other: Self) -> Self {
        self.entries.extend(other.entries);
        self
    }
}

impl From<HttpRoutes> for Router {
    /// One fallback that matches every binding: the routes axum holds (such as
    /// `/openapi.json` or `/healthz`) are tried first.
    fn from(routes: HttpRoutes) -> Self {
        if routes.entries.is_empty() {
            return Router::new();
        }
        let table = Arc::new(Table::new(routes.entries));
        Router::new().fallback(move |request: Request| dispatch(table.clone(), request))
    }
}

/// Every binding in the order they are tried, grouped by the first segment of
/// the paths they can serve: a request is tried against its own group only,
/// not every route of every service.
struct Table {
    /// Per first literal (sorted), the bindings that start with it and those
    /// that start with no literal, most specific first.
    by_first: Box<[Group]>,
    /// The bindings that start with no literal, most specific first: all a
    /// path whose first segment no binding names can match.
    others: Box<[Entry]>,
}

/// A first literal and the bindings tried for it.
type Group = (&'static str, Box<[Entry]>);

impl Table {
    fn new(mut entries: Vec<Entry>) -> Self {
        entries.sort_by(|a, b| matcher::more_specific(a.binding, b.binding));
        let tried_for = |first: Option<&str>| -> Box<[Entry]> {
            entries
                .iter()
                .filter(|entry| {
                    matcher::first_literal(entry.binding).is_none_or(|own| Some(own) == first)
                })
                .cloned()
                .collect()
        };
        let mut literals: Vec<&'static str> = entries
            .iter()
            .filter_map(|entry| matcher::first_literal(entry.binding))
            .collect();
        literals.sort_unstable();
        literals.dedup();
        Self {
            by_first: literals
                .into_iter()
                .map(|literal| (literal, tried_for(Some(literal))))
                .collect(),
            others: tried_for(None),
        }
    }

    /// The bindings `path` may be, most specific first.
    fn candidates(&self, path: &str) -> &[Entry] {
        matcher::first_segment(path)
            .and_then(|first| {
                self.by_first
                    .binary_search_by(|(literal, _)| (*literal).cmp(first))
                    .ok()
            })
            .map_or(&self.others, |found| &self.by_first[found].1)
    }
}

/// The most specific binding whose path and method match; 405 when only the
/// method does not, 404 when no path does.
async fn dispatch(table: Arc<Table>, request: Request) -> Response {
    let mut other_method = false;
    for entry in table.candidates(request.uri().path()) {
        let Some(captures) = matcher::captures(entry.binding, request.uri().path()) else {
            continue;
        };
        if !serves(entry.binding.method, request.method()) {
            other_method = true;
            continue;
        }
        return (entry.handler)(request, captures).await;
    }
    if other_method {
        Error::new(
            405,
            "METHOD_NOT_ALLOWED",
            format!("{} is not served on this path", request.method()),
        )
        .into_response()
    } else {
        Error::new(404, "NOT_FOUND", "no route matches this path").into_response()
    }
}

/// A binding for GET serves HEAD too, as axum's `get` does.
fn serves(method: &str, requested: &axum::http::Method) -> bool {
    requested.as_str() == method || (method == "GET" && requested == axum::http::Method::HEAD)
}
