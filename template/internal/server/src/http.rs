use api::helloworld::v1::greeter_http_routes;
use api::notes::v1::notes_http_routes;
use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use service::Services;
use strata::auth::Authenticator;
use strata::config::Server;
use strata::transcoding::{HttpRoutes, RouteOptions};
use strata::{Health, Metrics, Validated};

/// The HTTP routes generated from the `google.api.http` options of the protos,
/// `GET /openapi.json` and, when `server.http.docs` is on, the API explorer at
/// `/docs`, behind the same middleware as gRPC; plus the admin
/// routes unless `server.admin_addr` gives them a listener of their own. Each
/// handler calls the same service implementation gRPC calls; the api routes
/// check their caller's token when `auth.jwt` is on.
pub fn http(
    conf: &Server,
    services: &Services,
    health: &Health,
    metrics: &Metrics,
    auth: &Authenticator,
) -> Router {
    let api = api_routes(services, &RouteOptions::from(&conf.http));
    let mut routes = strata::auth::http(api, auth).route("/openapi.json", get(openapi));
    if conf.http.docs {
        routes = routes.merge(strata::docs::routes());
    }
    if conf.admin_addr().is_none() {
        routes = routes.merge(strata::admin::routes(health.clone(), metrics.clone()));
    }

    strata::middleware::http(routes, conf, metrics)
}

/// Each api service's generated routes, behind the `buf.validate` rules of its
/// protos (as on gRPC): one line for the service, one in the chain (`make
/// scaffold` adds both at the markers). They are merged before they become a
/// router, which matches every template of every service.
fn api_routes(services: &Services, options: &RouteOptions) -> Router {
    let greeter = Validated::new(services.greeter.clone());
    let notes = Validated::new(services.notes.clone());
    // strata:scaffold http
    HttpRoutes::new()
        .merge(greeter_http_routes(greeter, options))
        .merge(notes_http_routes(notes, options))
        // strata:scaffold http chain
        .into()
}

/// The OpenAPI document generated from the protos.
async fn openapi() -> ([(axum::http::HeaderName, &'static str); 1], &'static str) {
    ([(CONTENT_TYPE, "application/json")], api::OPENAPI_JSON)
}
