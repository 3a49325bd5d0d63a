//! Listeners as the `server` section configures them: one call per listener, so a
//! service's composition root never copies listener settings field by field, and a
//! new setting reaches every service with the framework.

use std::io;
use std::net::SocketAddr;

use super::Listener;
use crate::config;

impl Listener {
    /// The gRPC listener of `server.grpc`: its address, preface timeout and stream
    /// limit, and `server.keepalive_*` and `server.max_header_bytes`.
    pub async fn grpc_from(
        server: &config::Server,
        routes: tonic::service::Routes,
    ) -> io::Result<Self> {
        let grpc = &server.grpc;
        let listener = Self::grpc(grpc.addr, routes)
            .await
            .map_err(|err| naming("server.grpc.addr", grpc.addr, err))?;
        Ok(listener
            .header_read_timeout(grpc.preface_timeout)
            .max_concurrent_streams(grpc.max_concurrent_streams)
            .keepalive_from(server))
    }

    /// The HTTP listener of `server.http`: its address and header read timeout, and
    /// `server.keepalive_*` and `server.max_header_bytes`.
    pub async fn http_from(server: &config::Server, router: axum::Router) -> io::Result<Self> {
        let http = &server.http;
        let listener = Self::http(http.addr, router)
            .await
            .map_err(|err| naming("server.http.addr", http.addr, err))?;
        Ok(listener
            .header_read_timeout(http.header_read_timeout)
            .keepalive_from(server))
    }

    /// The admin listener at `server.admin_addr`, when one is set, with the HTTP
    /// listener's timeouts.
    pub async fn admin_from(
        server: &config::Server,
        router: axum::Router,
    ) -> io::Result<Option<Self>> {
        let Some(addr) = server.admin_addr() else {
            return Ok(None);
        };
        let listener = Self::admin(addr, router)
            .await
            .map_err(|err| naming("server.admin_addr", addr, err))?;
        Ok(Some(
            listener
                .header_read_timeout(server.http.header_read_timeout)
                .keepalive_from(server),
        ))
    }

    /// What `server` sets for every listener: keep-alive and the header limit.
    fn keepalive_from(self, server: &config::Server) -> Self {
        self.http2_keepalive(server.keepalive_interval, server.keepalive_timeout)
            .max_header_bytes(server.max_header_bytes)
    }
}

/// A bind error that names the key and the address, e.g. `server.http.addr
/// 0.0.0.0:8000: Address already in use`.
fn naming(key: &str, addr: SocketAddr, err: io::Error) -> io::Error {
    io::Error::new(err.kind(), format!("{key} {addr}: {err}"))
}
