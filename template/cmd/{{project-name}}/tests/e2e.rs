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

/// The file `name` as reflection serves it, encoded.
async fn reflected_file(grpc: std::net::SocketAddr, name: &str) -> Vec<u8> {
    let mut reflection = ServerReflectionClient::new(channel(grpc).await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::FileByFilename(name.into())),
    };
    let mut replies = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("ServerReflectionInfo")
        .into_inner();
    let reply = replies.message().await.expect("reply").expect("one reply");
    let Some(MessageResponse::FileDescriptorResponse(files)) = reply.message_response else {
        panic!("not a file: {reply:?}");
    };
    files.file_descriptor_proto.concat()
}

#[tokio::test]
async fn reflection_serves_the_apis_comments_and_options() {
    let service = start().await;
    let contains =
        |bytes: &[u8], text: &str| bytes.windows(text.len()).any(|w| w == text.as_bytes());

    let greeter = reflected_file(service.grpc, "helloworld/v1/greeter.proto").await;
    // grpcurl describe shows the api's own comments; google.api.http stays.
    assert!(contains(&greeter, "The greeting service definition."));
    assert!(contains(&greeter, "/helloworld/{name}"));
    // Imported protos come without theirs (most of the set, and of its memory).
    let validate = reflected_file(service.grpc, "buf/validate/validate.proto").await;
    assert!(contains(&validate, "buf.validate"));
    assert!(!contains(&validate, "Licensed under the Apache License"));
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
        r#"server_requests_total{transport="grpc",operation="/helloworld.v1.Greeter/SayHello",code="400",reason="INVALID_ARGUMENT"} 1"#,
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
