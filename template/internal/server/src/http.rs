use api::helloworld::v1::greeter_http_routes;
use api::notes::v1::notes_http_routes;
use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use service::Services;
use strata::config::Server;
use strata::transcoding::RouteOptions;
use strata::{Health, Metrics};

/// The HTTP routes generated from the `google.api.http` options of the protos
/// and `GET /openapi.json`, behind the same middleware as gRPC; plus the admin
/// routes unless `server.admin_addr` gives them a listener of their own. Each
/// handler calls the same service implementation gRPC calls.
pub fn http(conf: &Server, services: &Services, health: &Health, metrics: &Metrics) -> Router {
    let mut routes =
        api_routes(services, &RouteOptions::from(&conf.http)).route("/openapi.json", get(openapi));
    if conf.admin_addr().is_none() {
        routes = routes.merge(strata::admin::routes(health.clone(), metrics.clone()));
    }

    strata::middleware::http(routes, conf, metrics)
}

/// One line per api service: its generated routes.
fn api_routes(services: &Services, options: &RouteOptions) -> Router {
    let mut routes = Router::new();
    routes = routes.merge(greeter_http_routes(services.greeter.clone(), options));
    routes = routes.merge(notes_http_routes(services.notes.clone(), options));
    // strata:scaffold http
    routes
}

/// The OpenAPI document generated from the protos.
async fn openapi() -> ([(axum::http::HeaderName, &'static str); 1], &'static str) {
    ([(CONTENT_TYPE, "application/json")], api::OPENAPI_JSON)
}
