//! What the end-to-end tests share: start the production wiring on free ports and
//! talk to it.

// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

pub mod collector;
pub mod watch;

use std::net::SocketAddr;
use std::path::Path;

use api::helloworld::v1::greeter_client::GreeterClient;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

// The composition root (src/lib.rs) under one short name.
use {{crate_name}} as app;

/// A running service; dropping it without `stop` leaves the task to the runtime.
pub struct Running {
    pub http: SocketAddr,
    pub grpc: SocketAddr,
    pub stop: oneshot::Sender<()>,
    pub stopped: JoinHandle<std::io::Result<()>>,
    pub scratch: tempfile::TempDir,
}

/// `configs/config.yaml` with free ports and a database of the test's own, under a
/// fresh scratch directory.
pub fn test_conf() -> (conf::Bootstrap, tempfile::TempDir) {
    // reqwest (rustls, no provider of its own) needs the one strata picks.
    strata::client::install_crypto_provider();
    let scratch = tempfile::tempdir().expect("temp dir");
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/config.yaml");
    // A prefix no shell sets, so the developer's environment cannot leak in.
    let sources = conf::Sources::new(&config, "E2E_TEST_ONLY");
    let mut conf = conf::load(&sources).expect("configs/config.yaml loads");
    conf.server.http.addr = "127.0.0.1:0".parse().expect("addr");
    conf.server.grpc.addr = "127.0.0.1:0".parse().expect("addr");
    conf.data.database.url = database_url(scratch.path());
    conf.log.file.dir = scratch.path().join("logs");
    (conf, scratch)
}

/// The service with the test configuration.
pub async fn start() -> Running {
    let (conf, scratch) = test_conf();
    start_with(&conf, scratch).await
}

/// The service with `conf`; `scratch` lives as long as it runs.
pub async fn start_with(conf: &conf::Bootstrap, scratch: tempfile::TempDir) -> Running {
    let app = app::wire(conf).await.expect("service starts");
    run(app, scratch)
}

/// Runs `app` (built by `wire` or `bind`) until `Running::stop`.
pub fn run(app: strata::App, scratch: tempfile::TempDir) -> Running {
    let http = app.local_addr("http").expect("http server");
    let grpc = app.local_addr("grpc").expect("grpc server");
    let (stop, stop_requested) = oneshot::channel::<()>();
    let stopped = tokio::spawn(app.run_until(async {
        let _ = stop_requested.await;
    }));
    Running {
        http,
        grpc,
        stop,
        stopped,
        scratch,
    }
}
{% if database == "sqlite" %}
/// A fresh SQLite file in the test's scratch directory.
fn database_url(scratch: &Path) -> String {
    format!("sqlite://{}/e2e.db", scratch.display())
}
{% elsif database == "postgres" %}
/// The test database: `DATABASE_URL`, or the local default.
fn database_url(_scratch: &Path) -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}
{% else %}
/// The test database: `DATABASE_URL`, or the local default.
fn database_url(_scratch: &Path) -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".to_owned())
}
{% endif %}
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, Value) {
    let response = reqwest::get(format!("http://{addr}{path}"))
        .await
        .expect("HTTP response");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

/// `method path` with `body` as JSON; the status and the JSON reply.
pub async fn http_json(addr: SocketAddr, method: &str, path: &str, body: Value) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let response = reqwest::Client::new()
        .request(method, format!("http://{addr}{path}"))
        .json(&body)
        .send()
        .await
        .expect("HTTP response");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

pub async fn channel(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .expect("valid URI")
        .connect()
        .await
        .expect("gRPC connection")
}

pub async fn grpc_client(addr: SocketAddr) -> GreeterClient<Channel> {
    GreeterClient::new(channel(addr).await)
}

/// Every line the rolling log files in `dir` hold, or nothing if there are none.
pub fn read_logs(dir: &Path) -> String {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|entry| std::fs::read_to_string(entry.ok()?.path()).ok())
                .collect()
        })
        .unwrap_or_default()
}
