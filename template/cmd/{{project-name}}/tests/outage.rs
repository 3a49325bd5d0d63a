//! A database outage: with a proxy the test controls between the service and the
//! database, cutting it makes requests fail fast with 503 and `/readyz` report the
//! database; restoring it brings the service back without a restart. Two kinds of
//! outage: connections dropped (a network cut) and connections refused (a stopped
//! server).
//!
//! Not rendered for SQLite, which has no network to cut.

mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// How the proxy fails the database.
#[derive(Clone, Copy, Debug)]
enum Outage {
    /// Open connections are dropped; new ones are accepted and dropped at once.
    Cut,
    /// Open connections are dropped and the port is closed: new ones are refused,
    /// as by a stopped server.
    Stopped,
}

/// A TCP proxy that can drop every connection, and refuse new ones.
struct Proxy {
    addr: SocketAddr,
    upstream: String,
    cut: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accepting: Mutex<Option<JoinHandle<()>>>,
}

impl Proxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let proxy = Self {
            addr: listener.local_addr().expect("addr"),
            upstream,
            cut: Arc::default(),
            links: Arc::default(),
            accepting: Mutex::default(),
        };
        proxy.accept(listener);
        proxy
    }

    fn accept(&self, listener: TcpListener) {
        let (cut, links, upstream) = (self.cut.clone(), self.links.clone(), self.upstream.clone());
        let accepting = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if cut.load(Ordering::SeqCst) {
                    continue; // dropped: the client sees the connection close
                }
                let upstream = upstream.clone();
                let link = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                links.lock().expect("lock").push(link);
            }
        });
        *self.accepting.lock().expect("lock") = Some(accepting);
    }

    /// Drops every open connection; new ones are dropped too (`Cut`) or refused
    /// (`Stopped`).
    async fn fail(&self, outage: Outage) {
        self.cut.store(true, Ordering::SeqCst);
        if let Outage::Stopped = outage {
            let accepting = self.accepting.lock().expect("lock").take();
            if let Some(accepting) = accepting {
                accepting.abort();
                // Awaited, the aborted task has dropped (closed) its socket.
                let _ = accepting.await;
            }
        }
        for link in self.links.lock().expect("lock").drain(..) {
            link.abort();
        }
    }

    /// Passes connections through again, on the same port.
    async fn restore(&self) {
        if self.accepting.lock().expect("lock").is_none() {
            let listener = TcpListener::bind(self.addr)
                .await
                .expect("rebind the proxy's port");
            self.accept(listener);
        }
        self.cut.store(false, Ordering::SeqCst);
    }
}

/// `scheme://user@host:port/db` split around its `host:port`.
fn split_url(url: &str) -> (&str, &str, &str) {
    let (before, rest) = url.split_once('@').expect("URL with user@host");
    let (host_port, after) = rest.split_once('/').expect("URL with /database");
    (before, host_port, after)
}

async fn status_of(addr: SocketAddr, path: &str) -> (u16, serde_json::Value) {
    support::http_get(addr, path).await
}

/// The standard error body of a request that needed the database during an outage.
fn assert_unavailable(status: u16, body: &serde_json::Value) {
    assert_eq!(
        (status, body),
        (
            503,
            &json!({
                "code": 503,
                "reason": "UNAVAILABLE",
                "message": "the database is unavailable; retry later",
                "metadata": {}
            })
        )
    );
}

/// Polls `path` until it answers `status`, for at most `within`.
async fn until_status(addr: SocketAddr, path: &str, status: u16, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        if status_of(addr, path).await.0 == status {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{path}: no {status} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn fails_fast_during_an_outage_and_recovers_after_it(outage: Outage) {
    let (mut conf, scratch) = support::test_conf();
    let url = conf.data.database.url.clone();
    let (before, upstream, after) = split_url(&url);
    let proxy = Proxy::start(upstream.to_owned()).await;
    conf.data.database.url = format!("{before}@{}/{after}", proxy.addr);
    // The shipped settings (acquire_timeout 2s, probe_interval 1s), stated here
    // because the bounds below are written against them. Each bound sits below
    // what waiting out `acquire` would take, and far above a fast answer on a
    // loaded CI machine (a debug build beside other builds: up to ~0.3 s each).
    let acquire = Duration::from_secs(2);
    conf.data.database.acquire_timeout = acquire;
    conf.data.database.probe_interval = Duration::from_secs(1);
    let service = support::start_with(&conf, scratch).await;
    assert_eq!(status_of(service.http, "/helloworld/before").await.0, 200);
    assert_eq!(status_of(service.http, "/readyz").await.0, 200);

    proxy.fail(outage).await;
    // The first request may wait out acquire_timeout while finding the outage.
    let started = Instant::now();
    let (status, body) = status_of(service.http, "/helloworld/during").await;
    let first = started.elapsed();
    assert_unavailable(status, &body);
    assert!(
        first < 3 * acquire,
        "{outage:?}: first request took {first:?}"
    );

    // Known down: readiness answers from the last probe, not a fresh wait.
    let started = Instant::now();
    let (status, body) = status_of(service.http, "/readyz").await;
    let readyz = started.elapsed();
    assert_eq!(
        (status, &body["check"]),
        (503, &json!("database")),
        "{body}"
    );
    assert!(readyz < acquire, "{outage:?}: /readyz took {readyz:?}");

    // 50 requests in a row: 50 x acquire = 100 s if each waited.
    let started = Instant::now();
    for n in 0..50 {
        let (status, body) = status_of(service.http, &format!("/helloworld/during-{n}")).await;
        assert_unavailable(status, &body);
    }
    let batch = started.elapsed();
    assert!(
        batch < 50 * acquire / 4,
        "{outage:?}: 50 requests took {batch:?}"
    );
    let mut greeter = support::grpc_client(service.grpc).await;
    let status = greeter
        .say_hello(api::helloworld::v1::HelloRequest {
            name: "during".into(),
        })
        .await
        .expect_err("the database is down");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert_eq!(status_of(service.http, "/healthz").await.0, 200);
    eprintln!(
        "{outage:?}: first request {first:?}, /readyz {readyz:?}, 50 requests {batch:?} ({:?} each)",
        batch / 50
    );

    proxy.restore().await;
    until_status(
        service.http,
        "/helloworld/after",
        200,
        Duration::from_secs(15),
    )
    .await;
    assert_eq!(status_of(service.http, "/readyz").await.0, 200);
}

#[tokio::test]
async fn fails_fast_while_connections_are_dropped_and_recovers() {
    fails_fast_during_an_outage_and_recovers_after_it(Outage::Cut).await;
}

#[tokio::test]
async fn fails_fast_while_connections_are_refused_and_recovers() {
    fails_fast_during_an_outage_and_recovers_after_it(Outage::Stopped).await;
}
