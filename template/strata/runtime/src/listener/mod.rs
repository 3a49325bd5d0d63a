mod accept;
mod configured;
mod connection;
mod head;
mod http;
mod tls;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// How long an HTTP client may take to send a request's headers unless
/// [`Listener::header_read_timeout`] says otherwise.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long an HTTP/2 connection may go without a frame before it is pinged,
/// and how long the ping may go unanswered, unless [`Listener::http2_keepalive`]
/// says otherwise.
pub const DEFAULT_HTTP2_KEEPALIVE: (Duration, Duration) =
    (Duration::from_secs(30), Duration::from_secs(10));

/// Streams one HTTP/2 connection may have open at once unless
/// [`Listener::max_concurrent_streams`] says otherwise (hyper's own default).
pub const DEFAULT_MAX_CONCURRENT_STREAMS: u32 = 200;

/// How long a connection may go without an open request unless
/// [`Listener::idle_timeout`] says otherwise.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// Connections one listener holds at once unless [`Listener::max_connections`]
/// says otherwise.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// The largest request header list (HTTP/2's measure) unless
/// [`Listener::max_header_bytes`] says otherwise.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 64 * 1024;

/// What bounds a connection's life, whatever the transport.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) header_read_timeout: Duration,
    pub(crate) keepalive_interval: Duration,
    pub(crate) keepalive_timeout: Duration,
    pub(crate) max_concurrent_streams: u32,
    pub(crate) idle_timeout: Duration,
    pub(crate) max_connections: usize,
    pub(crate) max_header_bytes: usize,
}

/// A bound listener and what serves it. Binding happens when the server is built,
/// so a taken port fails startup before anything runs.
pub struct Listener {
    transport: &'static str,
    listener: TcpListener,
    local_addr: SocketAddr,
    routes: Routes,
    limits: Limits,
    tls: Option<Arc<tls::Reloading>>,
}

enum Routes {
    Http(axum::Router),
    Grpc(tonic::service::Routes),
}

impl Listener {
    /// An HTTP/1.1 + HTTP/2 server for `router`, bound to `addr`.
    pub async fn http(addr: SocketAddr, router: axum::Router) -> io::Result<Self> {
        Self::http_named("http", addr, router).await
    }

    /// The admin HTTP server (`/healthz`, `/readyz`, `/metrics`), bound to `addr`.
    pub async fn admin(addr: SocketAddr, router: axum::Router) -> io::Result<Self> {
        Self::http_named("admin", addr, router).await
    }

    async fn http_named(
        transport: &'static str,
        addr: SocketAddr,
        router: axum::Router,
    ) -> io::Result<Self> {
        Self::bound(transport, addr, Routes::Http(router)).await
    }

    /// A gRPC server for `routes`, bound to `addr`.
    pub async fn grpc(addr: SocketAddr, routes: tonic::service::Routes) -> io::Result<Self> {
        Self::bound("grpc", addr, Routes::Grpc(routes)).await
    }

    async fn bound(transport: &'static str, addr: SocketAddr, routes: Routes) -> io::Result<Self> {
        let listener = bind(transport, addr).await?;
        Ok(Self {
            transport,
            local_addr: listener.local_addr()?,
            listener,
            routes,
            limits: Limits {
                header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
                keepalive_interval: DEFAULT_HTTP2_KEEPALIVE.0,
                keepalive_timeout: DEFAULT_HTTP2_KEEPALIVE.1,
                max_concurrent_streams: DEFAULT_MAX_CONCURRENT_STREAMS,
                idle_timeout: DEFAULT_IDLE_TIMEOUT,
                max_connections: DEFAULT_MAX_CONNECTIONS,
                max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            },
            tls: None,
        })
    }

    /// Speaks TLS as `tls` says (nothing changes when it sets no certificate):
    /// HTTP offers h2 and http/1.1 by ALPN, gRPC h2 only. Fails when the files
    /// cannot be read or the key does not fit the certificate.
    pub fn tls(mut self, tls: &crate::config::Tls) -> io::Result<Self> {
        let alpn = match self.routes {
            Routes::Grpc(_) => tls::GRPC_ALPN,
            Routes::Http(_) => tls::HTTP_ALPN,
        };
        self.tls = tls::Reloading::new(tls, alpn)?.map(Arc::new);
        Ok(self)
    }

    /// How long a client may take to send a request's headers, or to start a
    /// request at all on a new or idle HTTP/1 connection, before the connection is
    /// closed: a slow or silent client cannot hold a connection forever. A new
    /// connection must also show its protocol (a whole HTTP/2 preface, or bytes
    /// that cannot begin one) within it; on the gRPC listener, the preface.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.limits.header_read_timeout = timeout;
        self
    }

    /// An HTTP/2 connection without a frame for `interval` is pinged; one that
    /// does not answer within `timeout` is closed, so a vanished or silent peer
    /// cannot hold it.
    pub fn http2_keepalive(mut self, interval: Duration, timeout: Duration) -> Self {
        self.limits.keepalive_interval = interval;
        self.limits.keepalive_timeout = timeout;
        self
    }

    /// Streams (requests, calls) one HTTP/2 connection may have open at once;
    /// advertised in SETTINGS, and more are refused.
    pub fn max_concurrent_streams(mut self, max: u32) -> Self {
        self.limits.max_concurrent_streams = max;
        self
    }

    /// A connection with no request open for `timeout` is closed (HTTP/2 with
    /// GOAWAY): an idle client cannot hold a connection forever.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.limits.idle_timeout = timeout;
        self
    }

    /// Connections this listener holds at once; one more is closed as soon as it
    /// is accepted (and logged), so a flood on one port cannot take every file
    /// descriptor the others need.
    pub fn max_connections(mut self, max: usize) -> Self {
        self.limits.max_connections = max;
        self
    }

    /// The largest request header list accepted, sized as HTTP/2 sizes it (each
    /// field's name and value plus 32 bytes); larger ones are answered 431 with the
    /// standard body (RESOURCE_EXHAUSTED on gRPC). Heads over twice this are not
    /// read: HTTP/2 SETTINGS advertise that, and hyper answers a bare 431.
    pub fn max_header_bytes(mut self, max: usize) -> Self {
        self.limits.max_header_bytes = max;
        self
    }

    /// `http`, `grpc` or `admin`.
    pub fn transport(&self) -> &'static str {
        self.transport
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` is cancelled and in-flight requests have finished.
    pub(crate) fn serve(
        self,
        shutdown: CancellationToken,
    ) -> impl Future<Output = io::Result<()>> + Send {
        let Self {
            transport,
            listener,
            routes,
            limits,
            tls,
            ..
        } = self;
        async move {
            let (router, http2_only) = match routes {
                Routes::Http(router) => (router, false),
                Routes::Grpc(routes) => (routes.into_axum_router(), true),
            };
            http::serve(
                transport, listener, router, limits, http2_only, tls, shutdown,
            )
            .await;
            Ok(())
        }
    }
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("transport", &self.transport)
            .field("local_addr", &self.local_addr)
            .field("limits", &self.limits)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

async fn bind(transport: &str, addr: SocketAddr) -> io::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|err| {
        io::Error::new(
            err.kind(),
            format!("{transport} server cannot bind {addr}: {err}"),
        )
    })
}
