use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;

type Serve = Box<
    dyn FnOnce(CancellationToken) -> Pin<Box<dyn Future<Output = io::Result<()>> + Send>> + Send,
>;

/// A bound listener and what serves it. Binding happens when the server is built,
/// so a taken port fails startup before anything runs.
pub struct Server {
    transport: &'static str,
    local_addr: SocketAddr,
    serve: Serve,
}

impl Server {
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
        let listener = bind(transport, addr).await?;
        Ok(Self {
            transport,
            local_addr: listener.local_addr()?,
            serve: Box::new(move |shutdown| {
                Box::pin(async move {
                    // Connect info gives the access log its peer address.
                    let service = router.into_make_service_with_connect_info::<SocketAddr>();
                    axum::serve(listener, service)
                        .with_graceful_shutdown(shutdown.cancelled_owned())
                        .await
                })
            }),
        })
    }

    /// A gRPC server for `routes`, bound to `addr`.
    pub async fn grpc(addr: SocketAddr, routes: tonic::service::Routes) -> io::Result<Self> {
        let listener = bind("grpc", addr).await?;
        Ok(Self {
            transport: "grpc",
            local_addr: listener.local_addr()?,
            serve: Box::new(move |shutdown| {
                Box::pin(async move {
                    tonic::transport::Server::builder()
                        .add_routes(routes)
                        .serve_with_incoming_shutdown(
                            TcpListenerStream::new(listener),
                            shutdown.cancelled_owned(),
                        )
                        .await
                        .map_err(io::Error::other)
                })
            }),
        })
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
        (self.serve)(shutdown)
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("transport", &self.transport)
            .field("local_addr", &self.local_addr)
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
