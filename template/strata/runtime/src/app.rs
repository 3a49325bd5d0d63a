//! The application lifecycle, after Kratos' `kratos.New(...).Run()`: start every
//! server, wait for SIGTERM/SIGINT, report NOT_SERVING, stop accepting, let
//! in-flight requests finish within the grace period. A second signal stops
//! waiting.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::{Health, Listener};

/// What a lifecycle hook may fail with.
pub type HookError = Box<dyn std::error::Error + Send + Sync>;

type Hook = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = Result<(), HookError>> + Send>> + Send>;

/// When a hook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Before any listener starts; an error aborts the start.
    BeforeStart,
    /// Once every listener is listening.
    AfterStart,
    /// When shutdown begins, before the listeners stop accepting.
    BeforeStop,
    /// After every listener has stopped.
    AfterStop,
}

/// The running service: its identity, listeners, health, hooks and shutdown grace.
pub struct App {
    name: String,
    version: String,
    id: String,
    shutdown_grace: Duration,
    trim_memory_every: Duration,
    health: Health,
    listeners: Vec<Listener>,
    hooks: Vec<(Stage, Hook)>,
}

impl App {
    /// An app named `name` at `version`, with no listeners yet, a 10 s shutdown grace
    /// and no readiness checks.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
            id: uuid::Uuid::new_v4().to_string(),
            shutdown_grace: Duration::from_secs(10),
            trim_memory_every: Duration::ZERO,
            health: Health::builder().build(),
            listeners: Vec::new(),
            hooks: Vec::new(),
        }
    }

    /// How long in-flight requests may take to finish after a stop signal.
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// How often freed memory goes back to the system while serving
    /// ([`crate::memory`]); zero, the default, never.
    pub fn trim_memory_every(mut self, every: Duration) -> Self {
        self.trim_memory_every = every;
        self
    }

    /// The health state that turns NOT_SERVING as soon as shutdown begins.
    pub fn health(mut self, health: Health) -> Self {
        self.health = health;
        self
    }

    /// Adds a listener; all of them start together.
    pub fn listener(mut self, listener: Listener) -> Self {
        self.listeners.push(listener);
        self
    }

    /// Runs `hook` before any listener starts; its error aborts the start.
    pub fn before_start<F, Fut>(self, hook: F) -> Self
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), HookError>> + Send + 'static,
    {
        self.hook(Stage::BeforeStart, hook)
    }

    /// Runs `hook` once every listener listens.
    pub fn after_start<F, Fut>(self, hook: F) -> Self
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), HookError>> + Send + 'static,
    {
        self.hook(Stage::AfterStart, hook)
    }

    /// Runs `hook` when shutdown begins, before the listeners stop accepting.
    pub fn before_stop<F, Fut>(self, hook: F) -> Self
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), HookError>> + Send + 'static,
    {
        self.hook(Stage::BeforeStop, hook)
    }

    /// Runs `hook` after every listener has stopped.
    pub fn after_stop<F, Fut>(self, hook: F) -> Self
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), HookError>> + Send + 'static,
    {
        self.hook(Stage::AfterStop, hook)
    }

    fn hook<F, Fut>(mut self, stage: Stage, hook: F) -> Self
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), HookError>> + Send + 'static,
    {
        self.hooks.push((stage, Box::new(move || Box::pin(hook()))));
        self
    }

    /// Where the listener of `transport` (`http` or `grpc`) listens; useful on port 0.
    pub fn local_addr(&self, transport: &str) -> Option<SocketAddr> {
        self.listeners
            .iter()
            .find(|listener| listener.transport() == transport)
            .map(Listener::local_addr)
    }

    /// Serves until SIGINT or SIGTERM, then shuts down gracefully; a second signal
    /// during the drain stops waiting for in-flight requests.
    pub async fn run(self) -> io::Result<()> {
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let (force_tx, force_rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            crate::shutdown_signal().await;
            let _ = stop_tx.send(());
            crate::shutdown_signal().await;
            let _ = force_tx.send(());
        });
        let stop = async {
            let _ = stop_rx.await;
        };
        let force = async {
            if force_rx.await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        self.run_with(stop, force).await
    }

    /// Serves until `stop` completes, then shuts down gracefully.
    pub async fn run_until(self, stop: impl Future<Output = ()>) -> io::Result<()> {
        self.run_with(stop, std::future::pending()).await
    }

    async fn run_with(
        mut self,
        stop: impl Future<Output = ()>,
        force: impl Future<Output = ()>,
    ) -> io::Result<()> {
        tracing::info!(name = %self.name, version = %self.version, id = %self.id, "starting");
        self.run_hooks(Stage::BeforeStart).await?;
        let shutdown = CancellationToken::new();
        let mut running = JoinSet::new();
        for listener in std::mem::take(&mut self.listeners) {
            tracing::info!(transport = listener.transport(), addr = %listener.local_addr(), "listening");
            running.spawn(listener.serve(shutdown.clone()));
        }
        self.run_hooks(Stage::AfterStart).await?;
        let trimmer = (!self.trim_memory_every.is_zero())
            .then(|| tokio::spawn(crate::memory::trim_periodically(self.trim_memory_every)));

        let early_exit = tokio::select! {
            () = stop => None,
            Some(joined) = running.join_next() => Some(joined),
        };
        self.health.shutting_down().await;
        if let Err(err) = self.run_hooks(Stage::BeforeStop).await {
            tracing::error!(%err, "before-stop hook failed");
        }
        shutdown.cancel();
        if let Some(trimmer) = trimmer {
            trimmer.abort();
        }
        if let Some(joined) = early_exit {
            tracing::error!("a listener stopped on its own; shutting the others down");
            running.abort_all();
            return flatten(joined).and(Err(io::Error::other("a server stopped unexpectedly")));
        }

        tracing::info!(grace = ?self.shutdown_grace, "shutting down");
        let drain = async {
            let mut result = Ok(());
            while let Some(joined) = running.join_next().await {
                result = result.and(flatten(joined));
            }
            result
        };
        let drained = tokio::select! {
            drained = tokio::time::timeout(self.shutdown_grace, drain) => drained,
            () = force => {
                tracing::warn!("second signal: not waiting for in-flight requests");
                return Err(io::Error::other("stopped by a second signal"));
            }
        };
        let result = match drained {
            Ok(result) => result,
            Err(_) => {
                tracing::warn!(grace = ?self.shutdown_grace, "grace period over; dropping in-flight requests");
                Ok(())
            }
        };
        if let Err(err) = self.run_hooks(Stage::AfterStop).await {
            tracing::error!(%err, "after-stop hook failed");
        }
        tracing::info!("stopped");
        result
    }

    /// Runs (and consumes) the hooks of `stage`, in the order they were added.
    async fn run_hooks(&mut self, stage: Stage) -> io::Result<()> {
        let (now, later) = std::mem::take(&mut self.hooks)
            .into_iter()
            .partition(|(hook_stage, _)| *hook_stage == stage);
        self.hooks = later;
        for (_, hook) in now {
            hook()
                .await
                .map_err(|err| io::Error::other(format!("{stage:?} hook: {err}")))?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("id", &self.id)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("trim_memory_every", &self.trim_memory_every)
            .field("listeners", &self.listeners)
            .finish_non_exhaustive()
    }
}

fn flatten(joined: Result<io::Result<()>, tokio::task::JoinError>) -> io::Result<()> {
    joined.map_err(io::Error::other)?
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::Router;
    use axum::routing::get;

    use super::*;

    async fn slow() -> &'static str {
        tokio::time::sleep(Duration::from_millis(300)).await;
        "finished"
    }

    async fn app_with_slow_route() -> App {
        let router = Router::new().route("/slow", get(slow));
        let listener = Listener::http("127.0.0.1:0".parse().expect("addr"), router)
            .await
            .expect("bind");
        App::new("test", "0.0.0")
            .shutdown_grace(Duration::from_secs(5))
            .listener(listener)
    }

    #[tokio::test]
    async fn finishes_in_flight_requests_and_refuses_new_connections() {
        let app = app_with_slow_route().await;
        let addr = app.local_addr("http").expect("http server");
        let (stop, stop_requested) = oneshot::channel::<()>();
        let running = tokio::spawn(app.run_until(async {
            let _ = stop_requested.await;
        }));

        let in_flight = tokio::spawn(http_get_body(format!("http://{addr}/slow")));
        tokio::time::sleep(Duration::from_millis(100)).await;
        stop.send(()).expect("running");
        tokio::time::sleep(Duration::from_millis(50)).await;

        let refused = tokio::net::TcpStream::connect(addr).await;
        assert!(
            refused.is_err(),
            "a new connection was accepted during shutdown"
        );
        assert_eq!(in_flight.await.expect("joined"), Ok("finished".to_owned()));
        running.await.expect("joined").expect("clean stop");
    }

    #[tokio::test]
    async fn runs_hooks_in_lifecycle_order() {
        let order = Arc::new(Mutex::new(Vec::new()));
        let record = |stage: &'static str| {
            let order = order.clone();
            move || async move {
                order.lock().expect("lock").push(stage);
                Ok::<_, HookError>(())
            }
        };
        let app = App::new("test", "0.0.0")
            .after_stop(record("after_stop"))
            .before_stop(record("before_stop"))
            .after_start(record("after_start"))
            .before_start(record("before_start"));

        app.run_until(async {}).await.expect("clean run");

        assert_eq!(
            *order.lock().expect("lock"),
            ["before_start", "after_start", "before_stop", "after_stop"]
        );
    }

    #[tokio::test]
    async fn a_failing_before_start_hook_aborts_the_start() {
        let app = App::new("test", "0.0.0").before_start(|| async { Err("no license".into()) });

        let err = app
            .run_until(std::future::pending())
            .await
            .expect_err("aborted");

        assert_eq!(err.to_string(), "BeforeStart hook: no license");
    }

    #[tokio::test]
    async fn reports_not_ready_once_shutdown_begins() {
        let health = Health::builder().build();
        let app = App::new("test", "0.0.0").health(health.clone());

        app.run_until(async {}).await.expect("clean run");

        assert_eq!(health.ready().await.expect_err("stopped").check, "shutdown");
    }

    /// A minimal HTTP/1.1 GET, so the test needs no client crate.
    async fn http_get_body(url: String) -> Result<String, String> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let without_scheme = url.trim_start_matches("http://");
        let (host, path) = without_scheme.split_once('/').ok_or("no path")?;
        let mut stream = tokio::net::TcpStream::connect(host)
            .await
            .map_err(|e| e.to_string())?;
        let request = format!("GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .await
            .map_err(|e| e.to_string())?;
        response
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_owned())
            .ok_or_else(|| format!("malformed response: {response}"))
    }
}
