//! A panic storm: 1,000 requests whose handler panics, half over HTTP and half
//! over gRPC, are each answered INTERNAL (HTTP 500 with the standard error body),
//! counted in `server_panics_total`, and the service keeps serving.
//!
//! The service has no panicking route and must not ship one, so this test mounts
//! the real services on the real servers and middleware (`bind`, the transport
//! half of `wire`, with `configs/config.yaml`) over a greeting repository that
//! panics for one name: a bug in the data layer is where such a panic would come from.

mod support;

use std::sync::Once;

use api::helloworld::v1::HelloRequest;
use biz::{Greeter, GreeterRepo};
use serde_json::json;
use support::{grpc_client, http_get, run, test_conf};

// The composition root (src/lib.rs) under one short name.
use {{crate_name}} as app;

/// The name whose greeting makes the repository panic.
const PANICKING_NAME: &str = "panic";
const PANIC_MESSAGE: &str = "deliberate panic of the panic storm test";
const PANICS_PER_TRANSPORT: usize = 500;

/// Greetings that panic when one for [`PANICKING_NAME`] is saved, and accept
/// (without keeping) every other one.
struct PanickingGreeterRepo;

#[async_trait::async_trait]
impl GreeterRepo for PanickingGreeterRepo {
    async fn save(&self, greeter: &Greeter) -> biz::Result<u64> {
        if greeter.name == PANICKING_NAME {
            panic!("{PANIC_MESSAGE}");
        }
        Ok(1)
    }
}

/// Keeps the 1,000 deliberate panics out of the test output; any other panic
/// (a failed assertion) is still reported.
fn silence_deliberate_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = info
                .payload()
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| info.payload().downcast_ref::<&str>().copied());
            if message != Some(PANIC_MESSAGE) {
                report(info);
            }
        }));
    });
}

#[tokio::test]
async fn survives_a_thousand_panicking_requests() {
    silence_deliberate_panics();
    let (conf, scratch) = test_conf();
    let data = data::Data::connect(&conf.data.database)
        .await
        .expect("database");
    let metrics = strata::Metrics::new("0.0.0", "test");
    let upstreams = strata::client::Upstreams::new(&conf.clients, &metrics)
        .await
        .expect("upstreams");
    let services = service::Services {
        greeter: service::GreeterService::new(biz::GreeterUsecase::new(PanickingGreeterRepo)),
        ..app::services(data, &upstreams).expect("services")
    };
    let health = strata::Health::builder().build();
    let app = app::bind(&conf, &services, health, &metrics)
        .await
        .expect("servers bind");
    let service = run(app, scratch);

    for attempt in 0..PANICS_PER_TRANSPORT {
        let (status, body) = http_get(service.http, &format!("/helloworld/{PANICKING_NAME}")).await;
        assert_eq!(
            (status, &body),
            (
                500,
                &json!({ "code": 500, "reason": "INTERNAL", "message": "internal error", "metadata": {} })
            ),
            "HTTP panic {attempt}"
        );
    }
    let mut client = grpc_client(service.grpc).await;
    for attempt in 0..PANICS_PER_TRANSPORT {
        let err = client
            .say_hello(HelloRequest {
                name: PANICKING_NAME.into(),
            })
            .await
            .expect_err("the handler panicked");
        assert_eq!(
            (err.code(), err.message()),
            (tonic::Code::Internal, "internal error"),
            "gRPC panic {attempt}"
        );
    }

    let (status, body) = http_get(service.http, "/helloworld/world").await;
    assert_eq!((status, body), (200, json!({ "message": "Hello world" })));
    let reply = client
        .say_hello(HelloRequest {
            name: "world".into(),
        })
        .await
        .expect("a normal call after the storm");
    assert_eq!(reply.into_inner().message, "Hello world");

    let text = reqwest::get(format!("http://{}/metrics", service.http))
        .await
        .expect("HTTP response")
        .text()
        .await
        .expect("metrics text");
    let panics = 2 * PANICS_PER_TRANSPORT;
    // Built by concatenation: a template file must not hold two braces in a row.
    let http_panics = [
        "server_requests_total{",
        r#"transport="http",operation="/helloworld.v1.Greeter/SayHello",code="500",reason="INTERNAL""#,
        "} ",
        &PANICS_PER_TRANSPORT.to_string(),
    ]
    .concat();
    for line in [format!("server_panics_total {panics}"), http_panics] {
        assert!(
            text.lines().any(|metric| metric == line),
            "missing {line} in:\n{text}"
        );
    }
}
