//! TLS on the HTTP and gRPC listeners (`server.tls`), with certificates made at
//! test time: both ports speak TLS and refuse plaintext, a certificate replaced on
//! disk is served without a restart, client certificates are checked when a CA is
//! configured (and against a new CA once its file is replaced), and the admin
//! port stays plaintext. An `https://` upstream under `clients:` is trusted
//! through its `ca_file`.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use api::helloworld::v1::HelloRequest;
use api::helloworld::v1::greeter_client::GreeterClient;
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use serde_json::json;
use support::{Running, http_json, run, start_with, test_conf};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tonic::transport::Endpoint;

// The composition root (src/lib.rs) under one short name.
use {{crate_name}} as app;

/// A certificate authority that signs server and client certificates.
struct Authority {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

/// A certificate and its key, PEM.
struct Issued {
    cert: String,
    key: String,
}

impl Authority {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().expect("CA key");
        let cert = params.self_signed(&key).expect("CA certificate");
        Self {
            issuer: Issuer::new(params, key),
            pem: cert.pem(),
        }
    }

    /// A certificate named `name` for `localhost` and 127.0.0.1.
    fn issue(&self, name: &str) -> Issued {
        let sans = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        let mut params = CertificateParams::new(sans).expect("params");
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.issuer).expect("certificate");
        Issued {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }

    fn roots(&self) -> RootCertStore {
        let mut roots = RootCertStore::empty();
        let cert = CertificateDer::from_pem_slice(self.pem.as_bytes()).expect("CA PEM");
        roots.add(cert).expect("CA certificate");
        roots
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client that trusts `server_ca`, offering `alpn`, and presenting `identity`.
fn client(server_ca: &Authority, alpn: &[&[u8]], identity: Option<&Issued>) -> TlsConnector {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(server_ca.roots());
    let mut config = match identity {
        Some(issued) => {
            let chain = vec![CertificateDer::from_pem_slice(issued.cert.as_bytes()).expect("PEM")];
            let key = PrivateKeyDer::from_pem_slice(issued.key.as_bytes()).expect("PEM key");
            builder
                .with_client_auth_cert(chain, key)
                .expect("client identity")
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
    // A resumed session skips the certificate: each connection shows the current one.
    config.resumption = rustls::client::Resumption::disabled();
    TlsConnector::from(Arc::new(config))
}

/// What a TLS exchange showed: the protocol agreed by ALPN, the server's
/// certificate and the HTTP/1.1 response's status line.
#[derive(Debug)]
struct Exchange {
    alpn: Option<Vec<u8>>,
    server_cert: Vec<u8>,
    status_line: String,
}

/// `GET path` over TLS and HTTP/1.1; an error when the server refuses the
/// handshake or closes the connection without an answer.
async fn https_get(
    addr: SocketAddr,
    connector: &TlsConnector,
    path: &str,
) -> std::io::Result<Exchange> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from("localhost").expect("server name");
    let mut tls = tokio::time::timeout(Duration::from_secs(5), connector.connect(name, tcp))
        .await
        .map_err(|_| std::io::Error::other("handshake timed out"))??;
    let (_, session) = tls.get_ref();
    let alpn = session.alpn_protocol().map(<[u8]>::to_vec);
    let server_cert = session
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|cert| cert.as_ref().to_vec())
        .unwrap_or_default();
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), tls.read_to_end(&mut response))
        .await
        .map_err(|_| std::io::Error::other("no answer"))??;
    let text = String::from_utf8_lossy(&response);
    let status_line = text.lines().next().unwrap_or_default().to_owned();
    if status_line.is_empty() {
        return Err(std::io::Error::other("closed without an answer"));
    }
    Ok(Exchange {
        alpn,
        server_cert,
        status_line,
    })
}

/// `SayHello` over gRPC on a TLS connection made by `connector`.
async fn grpc_hello_over_tls(addr: SocketAddr, connector: TlsConnector) -> Result<String, String> {
    let connect = tower::service_fn(move |_: tonic::transport::Uri| {
        let connector = connector.clone();
        async move {
            let tcp = TcpStream::connect(addr).await?;
            let name = ServerName::try_from("localhost").expect("server name");
            let tls = connector.connect(name, tcp).await?;
            Ok::<_, std::io::Error>(TokioIo::new(tls))
        }
    });
    let channel = Endpoint::from_static("http://localhost")
        .connect_with_connector(connect)
        .await
        .map_err(|err| err.to_string())?;
    let request = HelloRequest {
        name: "ada".to_owned(),
    };
    let reply = GreeterClient::new(channel)
        .say_hello(request)
        .await
        .map_err(|status| status.to_string())?;
    Ok(reply.into_inner().message)
}

/// The service with TLS from `issued` (and client certificates checked against
/// `client_ca`), and an admin listener; returns it and its admin address.
async fn start_tls(issued: &Issued, client_ca: Option<&Authority>) -> (Running, SocketAddr) {
    let (mut conf, scratch) = test_conf();
    let write = |name: &str, text: &str| {
        let path = scratch.path().join(name);
        std::fs::write(&path, text).expect("write");
        path
    };
    conf.server.tls.cert_file = write("server.crt", &issued.cert);
    conf.server.tls.key_file = write("server.key", &issued.key);
    if let Some(ca) = client_ca {
        conf.server.tls.client_ca_file = write("clients.crt", &ca.pem);
    }
    conf.server.admin_addr = "127.0.0.1:0".to_owned();
    let app = app::wire(&conf).await.expect("service starts");
    let admin = app.local_addr("admin").expect("admin listener");
    (run(app, scratch), admin)
}

#[tokio::test]
async fn both_ports_speak_tls_and_refuse_plaintext() {
    let ca = Authority::new("test CA");
    let (running, admin) = start_tls(&ca.issue("server"), None).await;

    let http1 = https_get(
        running.http,
        &client(&ca, &[b"http/1.1"], None),
        "/openapi.json",
    )
    .await
    .expect("HTTPS answered");
    assert_eq!(http1.status_line, "HTTP/1.1 200 OK");
    assert_eq!(http1.alpn.as_deref(), Some(&b"http/1.1"[..]));
    let message = grpc_hello_over_tls(running.grpc, client(&ca, &[b"h2"], None))
        .await
        .expect("gRPC over TLS");
    assert!(message.contains("ada"), "{message}");

    // Plaintext on a TLS port: the handshake fails and the connection is closed.
    let plaintext = reqwest::get(format!("http://{}/healthz", running.http)).await;
    assert!(plaintext.is_err(), "{plaintext:?}");
    let channel = Endpoint::try_from(format!("http://{}", running.grpc)).expect("URI");
    let plain_grpc = match channel.connect().await {
        Ok(channel) => GreeterClient::new(channel)
            .say_hello(HelloRequest::default())
            .await
            .map(|_| ()),
        Err(err) => Err(tonic::Status::unavailable(err.to_string())),
    };
    assert!(plain_grpc.is_err(), "plaintext gRPC was served");

    // Probes stay plaintext on the admin port.
    let probe = reqwest::get(format!("http://{admin}/healthz"))
        .await
        .expect("admin answers plaintext");
    assert_eq!(probe.status().as_u16(), 200);
}

#[tokio::test]
async fn a_certificate_replaced_on_disk_is_served_without_a_restart() {
    let ca = Authority::new("test CA");
    let first = ca.issue("first");
    let (running, _) = start_tls(&first, None).await;
    let connector = client(&ca, &[b"http/1.1"], None);
    let served = |exchange: &Exchange| exchange.server_cert.clone();
    let before = https_get(running.http, &connector, "/openapi.json")
        .await
        .expect("HTTPS");
    let first_der = CertificateDer::from_pem_slice(first.cert.as_bytes()).expect("PEM");
    assert_eq!(served(&before), first_der.as_ref());

    let renewed = ca.issue("renewed");
    let dir = running.scratch.path();
    replace(&dir.join("server.key"), &renewed.key);
    replace(&dir.join("server.crt"), &renewed.cert);
    let renewed_der = CertificateDer::from_pem_slice(renewed.cert.as_bytes()).expect("PEM");

    // The files are looked at again at most once a second, on a handshake.
    let mut seen = Vec::new();
    for _ in 0..50 {
        let exchange = https_get(running.http, &connector, "/openapi.json")
            .await
            .expect("HTTPS");
        assert_eq!(exchange.status_line, "HTTP/1.1 200 OK");
        seen = served(&exchange);
        if seen == renewed_der.as_ref() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        seen,
        renewed_der.as_ref(),
        "the renewed certificate was never served"
    );
}

#[tokio::test]
async fn client_certificates_from_the_configured_ca_are_required() {
    let server_ca = Authority::new("server CA");
    let client_ca = Authority::new("client CA");
    let (running, _) = start_tls(&server_ca.issue("server"), Some(&client_ca)).await;
    let trusted = client_ca.issue("trusted client");
    let stranger = Authority::new("another CA").issue("stranger");

    let with_cert = client(&server_ca, &[b"http/1.1"], Some(&trusted));
    let answered = https_get(running.http, &with_cert, "/openapi.json")
        .await
        .expect("mTLS");
    assert_eq!(answered.status_line, "HTTP/1.1 200 OK");
    let grpc =
        grpc_hello_over_tls(running.grpc, client(&server_ca, &[b"h2"], Some(&trusted))).await;
    assert!(grpc.is_ok(), "{grpc:?}");

    for (case, identity) in [
        ("no client certificate", None),
        ("another CA's", Some(&stranger)),
    ] {
        let connector = client(&server_ca, &[b"http/1.1"], identity);
        let refused = https_get(running.http, &connector, "/openapi.json").await;
        assert!(refused.is_err(), "{case}: {refused:?}");
        let grpc = grpc_hello_over_tls(running.grpc, client(&server_ca, &[b"h2"], identity)).await;
        assert!(grpc.is_err(), "{case}: {grpc:?}");
    }
}

#[tokio::test]
async fn a_client_ca_replaced_on_disk_is_used_without_a_restart() {
    let server_ca = Authority::new("server CA");
    let old_ca = Authority::new("old client CA");
    let new_ca = Authority::new("new client CA");
    let (running, _) = start_tls(&server_ca.issue("server"), Some(&old_ca)).await;
    let old_client = client(&server_ca, &[b"http/1.1"], Some(&old_ca.issue("old")));
    let new_client = client(&server_ca, &[b"http/1.1"], Some(&new_ca.issue("new")));
    let answered = |exchange: &std::io::Result<Exchange>| {
        exchange
            .as_ref()
            .is_ok_and(|exchange| exchange.status_line == "HTTP/1.1 200 OK")
    };
    let old = https_get(running.http, &old_client, "/openapi.json").await;
    assert!(answered(&old), "the configured CA: {old:?}");
    let new = https_get(running.http, &new_client, "/openapi.json").await;
    assert!(!answered(&new), "a CA not yet configured: {new:?}");

    replace(&running.scratch.path().join("clients.crt"), &new_ca.pem);

    // The files are looked at again at most once a second, on a handshake.
    let mut accepted = false;
    for _ in 0..50 {
        if answered(&https_get(running.http, &new_client, "/openapi.json").await) {
            accepted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(accepted, "a certificate of the new CA was never accepted");
    let old = https_get(running.http, &old_client, "/openapi.json").await;
    assert!(!answered(&old), "the replaced CA is still trusted: {old:?}");
}

/// Replaces `path` in one step, as cert-manager or a secret mount does.
fn replace(path: &Path, text: &str) {
    let next = path.with_extension("next");
    std::fs::write(&next, text).expect("write");
    std::fs::rename(&next, path).expect("rename");
}

#[tokio::test]
async fn an_https_upstream_is_trusted_through_the_clients_ca_file() {
    let ca = Authority::new("upstream CA");
    let (upstream, _) = start_tls(&ca.issue("upstream"), None).await;
    let caller = |trusted: bool| {
        let (mut conf, scratch) = test_conf();
        let greeter = conf.clients.get_mut("greeter").expect("clients.greeter");
        greeter.endpoints = vec![format!("https://{}", upstream.grpc)];
        if trusted {
            let ca_file = scratch.path().join("upstream-ca.crt");
            std::fs::write(&ca_file, &ca.pem).expect("write CA");
            greeter.ca_file = ca_file;
        }
        async move { start_with(&conf, scratch).await }
    };
    let welcome = json!({ "name": "ada" });

    let trusting = caller(true).await;
    let (status, note) =
        http_json(trusting.http, "POST", "/v1/notes:welcome", welcome.clone()).await;
    assert_eq!(
        (status, &note["body"]),
        (200, &json!("Hello ada")),
        "{note}"
    );

    // The system's roots do not know the upstream's CA: the handshake fails.
    let untrusting = caller(false).await;
    let (status, body) = http_json(untrusting.http, "POST", "/v1/notes:welcome", welcome).await;
    assert_eq!(status, 503, "{body}");
}
