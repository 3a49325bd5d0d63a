//! Liveness and readiness, one state for both transports: `GET /healthz`,
//! `GET /readyz` and gRPC `grpc.health.v1.Health` (service "", the whole server).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tonic_health::ServingStatus;
use tonic_health::pb::health_server::HealthServer;
use tonic_health::server::{HealthReporter, HealthService};

/// How long one readiness check may take before it counts as failed.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

type CheckFn =
    Box<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

/// A readiness check that failed: which one and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotReady {
    /// The check's name, e.g. `database`, or `shutdown` once stopping has begun.
    pub check: &'static str,
    /// What it reported.
    pub error: String,
}

/// The service's health. Cheap to clone; every clone shares the same state.
#[derive(Clone)]
pub struct Health {
    inner: Arc<Inner>,
}

struct Inner {
    shutting_down: AtomicBool,
    checks: Vec<(&'static str, CheckFn)>,
    reporter: HealthReporter,
}

/// Collects the readiness checks, then [`HealthBuilder::build`]s the shared state.
#[derive(Default)]
pub struct HealthBuilder {
    checks: Vec<(&'static str, CheckFn)>,
}

impl HealthBuilder {
    /// Adds a readiness check: `/readyz` is 503 naming `name` while it fails.
    pub fn check<F, Fut, E>(mut self, name: &'static str, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Display,
    {
        let check = move || -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> {
            let outcome = check();
            Box::pin(async move { outcome.await.map_err(|err| err.to_string()) })
        };
        self.checks.push((name, Box::new(check)));
        self
    }

    /// Adds `breaker` as a readiness check that answers from its last probe at
    /// once, named after its dependency.
    pub fn breaker(self, breaker: &crate::Breaker) -> Self {
        let breaker = breaker.clone();
        self.check(breaker.name(), move || {
            std::future::ready(breaker.check().map_err(|down| down.error))
        })
    }

    /// The shared health state, serving.
    pub fn build(self) -> Health {
        Health {
            inner: Arc::new(Inner {
                shutting_down: AtomicBool::new(false),
                checks: self.checks,
                reporter: HealthReporter::new(),
            }),
        }
    }
}

impl Health {
    /// Starts declaring readiness checks.
    pub fn builder() -> HealthBuilder {
        HealthBuilder::default()
    }

    /// Ready when shutdown has not begun and every check passes within its timeout.
    pub async fn ready(&self) -> Result<(), NotReady> {
        if self.inner.shutting_down.load(Ordering::Acquire) {
            return Err(NotReady {
                check: "shutdown",
                error: "the service is shutting down".into(),
            });
        }
        for (name, check) in &self.inner.checks {
            let outcome = tokio::time::timeout(CHECK_TIMEOUT, check()).await;
            let error = match outcome {
                Ok(Ok(())) => continue,
                Ok(Err(error)) => error,
                Err(_) => format!("no answer within {CHECK_TIMEOUT:?}"),
            };
            return Err(NotReady { check: name, error });
        }
        Ok(())
    }

    /// Marks the service as stopping: readiness and gRPC health report NOT_SERVING
    /// from now on, so load balancers stop sending new work.
    pub async fn shutting_down(&self) {
        self.inner.shutting_down.store(true, Ordering::Release);
        self.inner
            .reporter
            .set_service_status("", ServingStatus::NotServing)
            .await;
    }

    /// The `grpc.health.v1.Health` service over this state.
    pub fn grpc_service(&self) -> HealthServer<HealthService> {
        HealthServer::new(HealthService::from_health_reporter(
            self.inner.reporter.clone(),
        ))
    }
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let checks: Vec<_> = self.inner.checks.iter().map(|(name, _)| *name).collect();
        f.debug_struct("Health")
            .field("checks", &checks)
            .field("shutting_down", &self.inner.shutting_down)
            .finish()
    }
}

impl std::fmt::Debug for HealthBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let checks: Vec<_> = self.checks.iter().map(|(name, _)| *name).collect();
        f.debug_struct("HealthBuilder")
            .field("checks", &checks)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ready_when_every_check_passes() {
        let health = Health::builder()
            .check("database", || async { Ok::<_, String>(()) })
            .build();

        assert_eq!(health.ready().await, Ok(()));
    }

    #[tokio::test]
    async fn names_the_failing_check() {
        let health = Health::builder()
            .check("cache", || async { Ok::<_, String>(()) })
            .check("database", || async { Err("connection refused") })
            .build();

        let not_ready = health.ready().await.expect_err("database is down");

        assert_eq!(not_ready.check, "database");
        assert_eq!(not_ready.error, "connection refused");
    }

    #[tokio::test]
    async fn a_breaker_answers_from_its_last_probe() {
        // A probe that never finishes leaves the state to the trip alone.
        let breaker = crate::Breaker::spawn(
            "database",
            Duration::from_secs(60),
            Duration::from_secs(60),
            std::future::pending::<Result<(), String>>,
        );
        let health = Health::builder().breaker(&breaker).build();
        assert_eq!(health.ready().await, Ok(()));

        breaker.trip("connection refused");

        let not_ready = health.ready().await.expect_err("tripped");
        assert_eq!(
            (not_ready.check, not_ready.error.as_str()),
            ("database", "connection refused")
        );
    }

    #[tokio::test]
    async fn not_ready_once_shutdown_begins() {
        let health = Health::builder().build();

        health.shutting_down().await;

        assert_eq!(
            health.ready().await.expect_err("stopping").check,
            "shutdown"
        );
    }
}
