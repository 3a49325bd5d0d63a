//! The baseline: the sample's two endpoints with nothing around them. Axum answers
//! `GET /helloworld/{name}` and `GET /healthz` with the sample's JSON; tonic answers
//! `helloworld.v1.Greeter/SayHello` and `grpc.health.v1.Health/Check`. No
//! middleware, no logs. One process holds both listeners, as the sample does.
//!
//! Given a database URL, SayHello does what the sample's does
//! (`strata_bench::greetings`): the same statements in the same transaction, on a
//! pool of the sample's size. Without one it only formats the reply.
//!
//! `bare <http addr> <grpc addr> [sqlite://... | postgres://...]`
//! `bare prepare-postgres <url> <schema>...`: drops and recreates the schemas (the
//! bench gives the sample and this server one each), or fails when PostgreSQL is
//! not reachable.

use std::net::SocketAddr;

use anyhow::Context;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};
use strata_bench::greetings::Greetings;
use strata_bench::pb::greeter_server::{Greeter, GreeterServer};
use strata_bench::pb::{HelloReply, HelloRequest};
use tonic::{Request, Response, Status};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [command, url, schemas @ ..] = args.as_slice()
        && command == "prepare-postgres"
    {
        return strata_bench::greetings::prepare_postgres(url, schemas).await;
    }
    let usage = "usage: bare <http> <grpc> [database url]";
    let http_addr: SocketAddr = args.first().context(usage)?.parse()?;
    let grpc_addr: SocketAddr = args.get(1).context(usage)?.parse()?;
    let greetings = match args.get(2) {
        Some(url) => Some(Greetings::connect(url).await?),
        None => None,
    };

    let http = axum::Router::new()
        .route("/helloworld/{name}", get(say_hello_http))
        .route("/healthz", get(healthz))
        .with_state(greetings.clone());
    let listener = tokio::net::TcpListener::bind(http_addr).await?;
    let http = tokio::spawn(async move { axum::serve(listener, http).await });

    // Health.Check answers SERVING for "" by default.
    let (_reporter, health) = tonic_health::server::health_reporter();
    let grpc = tonic::transport::Server::builder()
        .add_service(GreeterServer::new(BareGreeter { greetings }))
        .add_service(health)
        .serve(grpc_addr);

    tokio::select! {
        served = http => served??,
        served = grpc => served?,
    }
    Ok(())
}

/// Stores the greeting when there is a database, then formats the reply.
async fn greet(greetings: Option<&Greetings>, name: String) -> Result<String, String> {
    let message = format!("Hello {name}");
    if let Some(greetings) = greetings {
        greetings
            .save(&name, &message)
            .await
            .map_err(|err| err.to_string())?;
    }
    Ok(message)
}

/// `{"message":"Hello <name>"}`, as the sample's proto3 JSON renders `HelloReply`.
async fn say_hello_http(
    State(greetings): State<Option<Greetings>>,
    Path(name): Path<String>,
) -> Result<Json<Value>, (StatusCode, String)> {
    let message = greet(greetings.as_ref(), name)
        .await
        .map_err(|err| (StatusCode::INTERNAL_SERVER_ERROR, err))?;
    Ok(Json(json!({ "message": message })))
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "SERVING" }))
}

struct BareGreeter {
    greetings: Option<Greetings>,
}

#[tonic::async_trait]
impl Greeter for BareGreeter {
    async fn say_hello(
        &self,
        request: Request<HelloRequest>,
    ) -> Result<Response<HelloReply>, Status> {
        let HelloRequest { name } = request.into_inner();
        let message = greet(self.greetings.as_ref(), name)
            .await
            .map_err(Status::internal)?;
        Ok(Response::new(HelloReply { message }))
    }
}
