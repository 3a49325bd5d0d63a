//! A database outage: with a proxy the test controls between the service and the
//! database, cutting it makes requests fail fast with 503 and `/readyz` report the
//! database; restoring it brings the service back without a restart.
//!
//! Not rendered for SQLite, which has no network to cut.

mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A TCP proxy that can drop every connection and refuse new ones.
struct Proxy {
    addr: SocketAddr,
    cut: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let cut = Arc::new(AtomicBool::new(false));
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (accepting_cut, accepting_links) = (cut.clone(), links.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if accepting_cut.load(Ordering::SeqCst) {
                    continue; // dropped: the client sees the connection close
                }
                let upstream = upstream.clone();
                let link = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                accepting_links.lock().expect("lock").push(link);
            }
        });
        Self { addr, cut, links }
    }

    /// Drops every open connection and refuses new ones.
    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for link in self.links.lock().expect("lock").drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
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

#[tokio::test]
async fn fails_fast_during_an_outage_and_recovers_after_it() {
    let (mut conf, scratch) = support::test_conf();
    let url = conf.data.database.url.clone();
    let (before, upstream, after) = split_url(&url);
    let proxy = Proxy::start(upstream.to_owned()).await;
    conf.data.database.url = format!("{before}@{}/{after}", proxy.addr);
    conf.data.database.acquire_timeout = Duration::from_secs(1);
    let service = support::start_with(&conf, scratch).await;
    assert_eq!(status_of(service.http, "/helloworld/before").await.0, 200);

    proxy.cut();
    let started = Instant::now();
    let (status, body) = status_of(service.http, "/helloworld/during").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["reason"], "UNAVAILABLE");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "not fast: {:?}",
        started.elapsed()
    );
    let (status, body) = status_of(service.http, "/readyz").await;
    assert_eq!(
        (status, &body["check"]),
        (503, &serde_json::json!("database"))
    );

    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if status_of(service.http, "/helloworld/after").await.0 == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "no recovery within 15 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(status_of(service.http, "/readyz").await.0, 200);
}
