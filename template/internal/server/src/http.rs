use api::helloworld::v1::{HelloReply, HelloRequest, greeter_server::Greeter};
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use platform::Health;
use platform::error::HttpError;
use service::{GreeterService, Services};

/// The HTTP routes, from the `google.api.http` options of the protos, plus
/// `/healthz` and `/readyz`. Each handler calls the same service implementation
/// gRPC calls.
pub fn http(services: &Services, health: &Health) -> Router {
    Router::new()
        .route("/helloworld/{name}", get(say_hello))
        .with_state(services.greeter.clone())
        .merge(platform::admin::routes(health.clone()))
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
