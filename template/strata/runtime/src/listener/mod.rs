mod http;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;

/// How long an HTTP client may take to send a request's headers unless
/// [`Listener::header_read_timeout`] says otherwise.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A bound listener and what serves it. Binding happens when the server is built,
/// so a taken port fails startup before anything runs.
pub struct Listener {
    transport: &'static str,
    listener: TcpListener,
    local_addr: SocketAddr,
    routes: Routes,
    header_read_timeout: Duration,
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
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
        })
    }

    /// How long an HTTP client may take to send a request's headers, or to start a
    /// request at all on a new or idle connection, before the connection is closed:
    /// a slow or silent client cannot hold a connection forever. HTTP/1 only; the
    /// gRPC server ignores it.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
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
            listener,
            routes,
            header_read_timeout,
            ..
        } = self;
        async move {
            match routes {
                Routes::Http(router) => {
                    http::serve(listener, router, header_read_timeout, shutdown).await;
                    Ok(())
                }
                Routes::Grpc(routes) => tonic::transport::Server::builder()
                    .add_routes(routes)
                    .serve_with_incoming_shutdown(
                        TcpListenerStream::new(listener),
                        shutdown.cancelled_owned(),
                    )
                    .await
                    .map_err(io::Error::other),
            }
        }
    }
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("transport", &self.transport)
            .field("local_addr", &self.local_addr)
            .field("header_read_timeout", &self.header_read_timeout)
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
