//! The baseline: the sample's two endpoints with nothing around them. Axum answers
//! `GET /helloworld/{name}` and `GET /healthz` with the sample's JSON; tonic answers
//! `helloworld.v1.Greeter/SayHello` and `grpc.health.v1.Health/Check`. No
//! middleware, no logs, no database. One process holds both listeners, as the
//! sample does.
//!
//! `bare <http addr> <grpc addr>`

use std::net::SocketAddr;

use anyhow::Context;
use axum::Json;
use axum::extract::Path;
use axum::routing::get;
use serde_json::{Value, json};
use strata_bench::pb::greeter_server::{Greeter, GreeterServer};
use strata_bench::pb::{HelloReply, HelloRequest};
use tonic::{Request, Response, Status};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let http_addr: SocketAddr = args.next().context("usage: bare <http> <grpc>")?.parse()?;
    let grpc_addr: SocketAddr = args.next().context("usage: bare <http> <grpc>")?.parse()?;

    let http = axum::Router::new()
        .route("/helloworld/{name}", get(say_hello_http))
        .route("/healthz", get(healthz));
    let listener = tokio::net::TcpListener::bind(http_addr).await?;
    let http = tokio::spawn(async move { axum::serve(listener, http).await });

    // Health.Check answers SERVING for "" by default.
    let (_reporter, health) = tonic_health::server::health_reporter();
    let grpc = tonic::transport::Server::builder()
        .add_service(GreeterServer::new(BareGreeter))
        .add_service(health)
        .serve(grpc_addr);

    tokio::select! {
        served = http => served??,
        served = grpc => served?,
    }
    Ok(())
}

/// `{"message":"Hello <name>"}`, as the sample's proto3 JSON renders `HelloReply`.
async fn say_hello_http(Path(name): Path<String>) -> Json<Value> {
    Json(json!({ "message": format!("Hello {name}") }))
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "SERVING" }))
}

struct BareGreeter;

#[tonic::async_trait]
impl Greeter for BareGreeter {
    async fn say_hello(
        &self,
        request: Request<HelloRequest>,
    ) -> Result<Response<HelloReply>, Status> {
        let HelloRequest { name } = request.into_inner();
        Ok(Response::new(HelloReply {
            message: format!("Hello {name}"),
        }))
    }
}
