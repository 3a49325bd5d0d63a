use api::helloworld::v1::greeter_http_routes;
use api::notes::v1::notes_http_routes;
use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use strata::transcoding::RouteOptions;
use strata::{Health, Metrics};
use service::Services;

use crate::middleware::{http_options, options};

/// The HTTP routes generated from the `google.api.http` options of the protos
/// and `GET /openapi.json`, behind the same middleware as gRPC; plus the admin
/// routes unless `server.admin_addr` gives them a listener of their own. Each
/// handler calls the same service implementation gRPC calls.
pub fn http(
    conf: &conf::Server,
    services: &Services,
    health: &Health,
    metrics: &Metrics,
) -> Router {
    let route_options = RouteOptions {
        default_routes: conf.http.default_routes,
    };
    let mut routes = api_routes(services, &route_options).route("/openapi.json", get(openapi));
    if conf.admin_addr().is_none() {
        routes = routes.merge(strata::admin::routes(health.clone(), metrics.clone()));
    }

    strata::middleware::apply_http(
        routes,
        &options(&conf.middleware, conf.http.timeout),
        &http_options(&conf.http),
        metrics,
    )
}

/// One line per api service: its generated routes.
fn api_routes(services: &Services, options: &RouteOptions) -> Router {
    Router::new()
        .merge(greeter_http_routes(services.greeter.clone(), options))
        .merge(notes_http_routes(services.notes.clone(), options))
}

/// The OpenAPI document generated from the protos.
async fn openapi() -> ([(axum::http::HeaderName, &'static str); 1], &'static str) {
    ([(CONTENT_TYPE, "application/json")], api::OPENAPI_JSON)
}

/// `/healthz`, `/readyz` and `/metrics` for their own listener (`server.admin_addr`),
/// without the request middleware: probes and scrapes are not traffic.
pub fn admin(health: &Health, metrics: &Metrics) -> Router {
    strata::admin::routes(health.clone(), metrics.clone())
}
