//! Listeners as the `server` section configures them: one call per listener, so a
//! service's composition root never copies listener settings field by field, and a
//! new setting reaches every service with the framework.

use std::io;
use std::net::SocketAddr;

use super::Listener;
use crate::config;

impl Listener {
    /// The gRPC listener of `server.grpc`: its address, preface timeout and stream
    /// limit, `server.keepalive_*`, `server.max_header_bytes` and `server.tls`.
    pub async fn grpc_from(
        server: &config::Server,
        routes: tonic::service::Routes,
    ) -> io::Result<Self> {
        let grpc = &server.grpc;
        let listener = Self::grpc(grpc.addr, routes)
            .await
            .map_err(|err| naming("server.grpc.addr", grpc.addr, err))?;
        listener
            .header_read_timeout(grpc.preface_timeout)
            .max_concurrent_streams(grpc.max_concurrent_streams)
            .shared_from(server)
            .tls(&server.tls)
    }

    /// The HTTP listener of `server.http`: its address and header read timeout,
    /// `server.keepalive_*`, `server.max_header_bytes` and `server.tls`.
    pub async fn http_from(server: &config::Server, router: axum::Router) -> io::Result<Self> {
        let http = &server.http;
        let listener = Self::http(http.addr, router)
            .await
            .map_err(|err| naming("server.http.addr", http.addr, err))?;
        listener
            .header_read_timeout(http.header_read_timeout)
            .shared_from(server)
            .tls(&server.tls)
    }

    /// The admin listener at `server.admin_addr`, when one is set, with the HTTP
    /// listener's timeouts; plaintext always (kubelet probes speak HTTP).
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
                .shared_from(server),
        ))
    }

    /// What every listener shares: `server.keepalive_*`, `server.idle_timeout`,
    /// `server.max_connections` and `server.max_header_bytes`.
    fn shared_from(self, server: &config::Server) -> Self {
        self.http2_keepalive(server.keepalive_interval, server.keepalive_timeout)
            .idle_timeout(server.idle_timeout)
            .max_connections(max_connections(server.max_connections))
            .max_header_bytes(server.max_header_bytes)
    }
}

/// `server.max_connections`, or when it is 0 a quarter of the open-file limit:
/// three listeners at their cap still leave a quarter of the descriptors for the
/// database, log files and a health probe.
fn max_connections(configured: usize) -> usize {
    if configured > 0 {
        return configured;
    }
    open_file_limit().map_or(super::DEFAULT_MAX_CONNECTIONS, |limit| (limit / 4).max(16))
}

/// The soft `RLIMIT_NOFILE`, from `/proc/self/limits` (Linux; elsewhere `None`).
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    let soft = line
        .trim_start_matches("Max open files")
        .split_whitespace()
        .next()?;
    soft.parse().ok()
}

/// A bind error that names the key and the address, e.g. `server.http.addr
/// 0.0.0.0:8000: Address already in use`.
fn naming(key: &str, addr: SocketAddr, err: io::Error) -> io::Error {
    io::Error::new(err.kind(), format!("{key} {addr}: {err}"))
}
