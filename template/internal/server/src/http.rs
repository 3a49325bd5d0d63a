use api::helloworld::v1::{HelloReply, HelloRequest, greeter_server::Greeter};
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use platform::error::HttpError;
use platform::middleware::operation;
use platform::{Health, Metrics};
use service::{GreeterService, Services};

use crate::middleware::{http_options, options};

/// The HTTP routes, from the `google.api.http` options of the protos, behind the
/// same middleware as gRPC; plus the admin routes unless `server.admin_addr` gives
/// them a listener of their own. Each handler calls the same service
/// implementation gRPC calls.
pub fn http(
    conf: &conf::Server,
    services: &Services,
    health: &Health,
    metrics: &Metrics,
) -> Router {
    let mut routes = Router::new()
        .route(
            "/helloworld/{name}",
            operation("/helloworld.v1.Greeter/SayHello", get(say_hello)),
        )
        .with_state(services.greeter.clone());
    if conf.admin_addr().is_none() {
        routes = routes.merge(platform::admin::routes(health.clone(), metrics.clone()));
    }

    platform::middleware::apply_http(
        routes,
        &options(&conf.middleware, conf.http.timeout),
        &http_options(&conf.http),
        metrics,
    )
}

/// `GET /helloworld/{name}` -> `Greeter.SayHello`.
async fn say_hello(
    State(greeter): State<GreeterService>,
    Path(name): Path<String>,
) -> Result<Json<HelloReply>, HttpError> {
    let reply = greeter
        .say_hello(tonic::Request::new(HelloRequest { name }))
        .await?;
    Ok(Json(reply.into_inner()))
}

/// `/healthz`, `/readyz` and `/metrics` for their own listener (`server.admin_addr`),
/// without the request middleware: probes and scrapes are not traffic.
pub fn admin(health: &Health, metrics: &Metrics) -> Router {
    platform::admin::routes(health.clone(), metrics.clone())
}
