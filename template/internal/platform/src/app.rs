use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::{Health, Server};

/// The running service: its servers, its health and how long it may take to stop.
#[derive(Debug)]
pub struct App {
    shutdown_grace: Duration,
    health: Health,
    servers: Vec<Server>,
}

impl App {
    /// An app with no servers yet; `shutdown_grace` bounds the drain after a signal,
    /// `health` turns NOT_SERVING as soon as shutdown begins.
    pub fn new(shutdown_grace: Duration, health: Health) -> Self {
        Self {
            shutdown_grace,
            health,
            servers: Vec::new(),
        }
    }

    /// Adds a server; all of them start together in [`App::run`].
    pub fn server(mut self, server: Server) -> Self {
        self.servers.push(server);
        self
    }

    /// Where each server listens, by transport (useful when bound to port 0).
    pub fn local_addr(&self, transport: &str) -> Option<SocketAddr> {
        self.servers
            .iter()
            .find(|server| server.transport() == transport)
            .map(Server::local_addr)
    }

    /// Serves until SIGINT or SIGTERM, then shuts down gracefully.
    pub async fn run(self) -> std::io::Result<()> {
        self.run_until(crate::shutdown_signal()).await
    }

    /// Serves until `stop` completes; then reports NOT_SERVING, stops accepting
    /// connections and lets in-flight requests finish within the shutdown grace
    /// period. A server that fails stops the others and its error is returned.
    pub async fn run_until(self, stop: impl Future<Output = ()>) -> std::io::Result<()> {
        let shutdown = CancellationToken::new();
        let mut running = JoinSet::new();
        for server in self.servers {
            tracing::info!(transport = server.transport(), addr = %server.local_addr(), "listening");
            running.spawn(server.serve(shutdown.clone()));
        }

        let early_exit = tokio::select! {
            () = stop => None,
            Some(joined) = running.join_next() => Some(joined),
        };
        self.health.shutting_down().await;
        shutdown.cancel();
        if let Some(joined) = early_exit {
            tracing::error!("a server stopped on its own; shutting the others down");
            running.abort_all();
            return flatten(joined)
                .and(Err(std::io::Error::other("a server stopped unexpectedly")));
        }

        tracing::info!(grace = ?self.shutdown_grace, "shutting down");
        let drain = async {
            let mut result = Ok(());
            while let Some(joined) = running.join_next().await {
                result = result.and(flatten(joined));
            }
            result
        };
        match tokio::time::timeout(self.shutdown_grace, drain).await {
            Ok(result) => {
                tracing::info!("stopped");
                result
            }
            Err(_) => {
                tracing::warn!(grace = ?self.shutdown_grace, "grace period over; dropping in-flight requests");
                Ok(())
            }
        }
    }
}

fn flatten(joined: Result<std::io::Result<()>, tokio::task::JoinError>) -> std::io::Result<()> {
    joined.map_err(std::io::Error::other)?
}
