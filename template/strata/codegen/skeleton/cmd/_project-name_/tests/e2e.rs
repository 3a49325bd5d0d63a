//! Starts the production wiring on free ports and talks to it over both transports.

mod support;

use api::helloworld::v1::HelloRequest;
use serde_json::json;
use support::{channel, grpc_client, http_get, start, start_with, test_conf};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

#[tokio::test]
async fn says_hello_over_http() {
    let service = start().await;

    let (status, body) = http_get(service.http, "/helloworld/world").await;

    assert_eq!(status, 200);
    assert_eq!(body, json!({ "message": "Hello world" }));
}

#[tokio::test]
async fn says_hello_over_grpc() {
    let service = start().await;
    let mut client = grpc_client(service.grpc).await;

    let reply = client
        .say_hello(HelloRequest {
            name: "world".into(),
        })
        .await
        .expect("SayHello");

    assert_eq!(reply.into_inner().message, "Hello world");
}

#[tokio::test]
async fn refuses_a_long_name_on_both_transports() {
    let service = start().await;
    let name = "a".repeat(65);

    let (status, body) = http_get(service.http, &format!("/helloworld/{name}")).await;
    assert_eq!(status, 400);
    assert_eq!(body["reason"], "INVALID_NAME");
    assert_eq!(body["code"], 400);

    let err = grpc_client(service.grpc)
        .await
        .say_hello(HelloRequest { name })
        .await
        .expect_err("too long");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert_eq!(err.message(), "name must be at most 64 characters, got 65");
}

#[tokio::test]
async fn stops_cleanly_when_asked() {
    let service = start().await;
    let (status, _) = http_get(service.http, "/helloworld/bye").await;
    assert_eq!(status, 200);

    service.stop.send(()).expect("service still running");
    let result = service.stopped.await.expect("task joins");

    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn reports_alive_and_ready_on_both_transports() {
    let service = start().await;

    let (status, body) = http_get(service.http, "/healthz").await;
    assert_eq!((status, body), (200, json!({ "status": "SERVING" })));
    let (status, body) = http_get(service.http, "/readyz").await;
    assert_eq!((status, body), (200, json!({ "status": "SERVING" })));

    let mut health = HealthClient::new(channel(service.grpc).await);
    let reply = health
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("Health.Check");
    assert_eq!(reply.into_inner().status(), ServingStatus::Serving);
}

#[tokio::test]
async fn lists_its_services_over_reflection() {
    let service = start().await;
    let mut reflection = ServerReflectionClient::new(channel(service.grpc).await);

    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut replies = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("ServerReflectionInfo")
        .into_inner();
    let reply = replies.message().await.expect("reply").expect("one reply");

    let Some(MessageResponse::ListServicesResponse(list)) = reply.message_response else {
        panic!("not a service list: {reply:?}");
    };
    let names: Vec<_> = list
        .service
        .iter()
        .map(|service| service.name.as_str())
        .collect();
    assert!(names.contains(&"helloworld.v1.Greeter"), "{names:?}");
    assert!(names.contains(&"grpc.health.v1.Health"), "{names:?}");
}

#[tokio::test]
async fn counts_requests_per_operation_on_both_transports() {
    let service = start().await;
    http_get(service.http, "/helloworld/metered").await;
    let err = grpc_client(service.grpc)
        .await
        .say_hello(HelloRequest {
            name: String::new(),
        })
        .await
        .expect_err("empty name");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);

    let text = reqwest::get(format!("http://{}/metrics", service.http))
        .await
        .expect("HTTP response")
        .text()
        .await
        .expect("metrics text");

    for line in [
        r#"server_requests_total{transport="http",operation="/helloworld.v1.Greeter/SayHello",code="200",reason=""} 1"#,
        r#"server_requests_total{transport="grpc",operation="/helloworld.v1.Greeter/SayHello",code="400",reason="INVALID_NAME"} 1"#,
        r#"build_info{version="0.1.0",commit="#,
    ] {
        assert!(text.contains(line), "missing {line} in:\n{text}");
    }
}

#[tokio::test]
async fn echoes_the_request_id_on_both_transports() {
    let service = start().await;

    let response = reqwest::Client::new()
        .get(format!("http://{}/helloworld/world", service.http))
        .header("x-request-id", "req-42")
        .send()
        .await
        .expect("HTTP response");
    assert_eq!(response.headers()["x-request-id"], "req-42");

    let mut request = tonic::Request::new(HelloRequest {
        name: "world".into(),
    });
    request
        .metadata_mut()
        .insert("x-request-id", "req-43".parse().expect("ascii"));
    let reply = grpc_client(service.grpc)
        .await
        .say_hello(request)
        .await
        .expect("SayHello");
    assert_eq!(
        reply.metadata().get("x-request-id").expect("echoed"),
        "req-43"
    );
}

#[tokio::test]
async fn serves_probes_and_metrics_on_the_admin_port_when_configured() {
    let (mut conf, scratch) = test_conf();
    let admin_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("free port");
    conf.server.admin_addr = admin_port.to_string();
    let service = start_with(&conf, scratch).await;

    let (status, _) = http_get(admin_port, "/readyz").await;
    assert_eq!(status, 200);
    let metrics = reqwest::get(format!("http://{admin_port}/metrics"))
        .await
        .expect("metrics");
    assert_eq!(metrics.status(), 200);
    let (status, body) = http_get(service.http, "/metrics").await;
    assert_eq!((status, &body["reason"]), (404, &json!("NOT_FOUND")));
}
