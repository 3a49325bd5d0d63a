//! JWT bearer tokens (`auth.jwt`) on both transports: the same token gets the same
//! answer over HTTP and gRPC, a refusal carries the standard error body, public
//! operations and probes need no token, and a rotated JWKS key or a PEM key
//! replaced on disk is picked up without a restart. A use case decides on the
//! verified caller: only a note's author (or an admin) may change it.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use api::helloworld::v1::HelloRequest;
use api::notes::v1::notes_client::NotesClient;
use api::notes::v1::{DeleteNoteRequest, Note, UpdateNoteRequest};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode, get_current_timestamp};
use serde_json::{Value, json};
use support::{Running, channel, grpc_client, start_with, test_conf};
use tonic::Code;

const SECRET: &str = "a-shared-secret-of-32-bytes-or-more!";
const ISSUER: &str = "https://issuer.test";
const AUDIENCE: &str = "hello-api";
const DELETE_NOTE: &str = "/notes.v1.Notes/DeleteNote";

/// An ES256 key pair: the private half signs, the public half is configured.
struct EcKey {
    signing: EncodingKey,
    public_pem: String,
}

fn ec_key() -> EcKey {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("P-256 key");
    EcKey {
        signing: EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes()).expect("PEM key"),
        public_pem: pair.public_key_pem(),
    }
}

/// A JWKS document with `keys`, each under its `kid`.
fn jwks(keys: &[(&str, &EcKey)]) -> String {
    let keys = keys
        .iter()
        .map(|(kid, key)| {
            let mut jwk = Jwk::from_encoding_key(&key.signing, Algorithm::ES256).expect("JWK");
            jwk.common.key_id = Some((*kid).to_owned());
            jwk
        })
        .collect();
    serde_json::to_string(&JwkSet { keys }).expect("JWKS JSON")
}

/// The keys a test signs with, and the service configured to trust them.
struct Setup {
    running: Running,
    pem_key: EcKey,
    rotating: EcKey,
    jwks_file: std::path::PathBuf,
    public_key_file: std::path::PathBuf,
}

async fn start_with_auth() -> Setup {
    let (mut conf, scratch) = test_conf();
    let pem_key = ec_key();
    let rotating = ec_key();
    let public_key_file = scratch.path().join("issuer.pem");
    std::fs::write(&public_key_file, &pem_key.public_pem).expect("write PEM");
    let jwks_file = scratch.path().join("jwks.json");
    std::fs::write(&jwks_file, jwks(&[("first", &ec_key())])).expect("write JWKS");
    let jwt = &mut conf.auth.jwt;
    jwt.enabled = true;
    jwt.hs256_secret = SECRET.to_owned();
    jwt.public_key_files = vec![public_key_file.clone()];
    jwt.jwks_file = jwks_file.clone();
    jwt.issuers = vec![ISSUER.to_owned()];
    jwt.audiences = vec![AUDIENCE.to_owned()];
    jwt.required_scopes = [(DELETE_NOTE.to_owned(), vec!["notes:admin".to_owned()])].into();
    Setup {
        running: start_with(&conf, scratch).await,
        pem_key,
        rotating,
        jwks_file,
        public_key_file,
    }
}

fn claims() -> Value {
    let now = get_current_timestamp();
    json!({"sub": "ada", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 300, "scope": "notes:read"})
}

fn with(key: &str, value: Value) -> Value {
    let mut claims = claims();
    claims[key] = value;
    claims
}

fn hs256(claims: &Value) -> String {
    let key = EncodingKey::from_secret(SECRET.as_bytes()).expect("secret");
    encode(&Header::new(Algorithm::HS256), claims, &key).expect("signed")
}

fn es256(key: &EcKey, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = kid.map(str::to_owned);
    encode(&header, claims, &key.signing).expect("signed")
}

/// `GET /helloworld/ada` with `token`: status, `WWW-Authenticate`, JSON body.
async fn http_hello(addr: SocketAddr, token: Option<&str>) -> (u16, String, Value) {
    let mut request = reqwest::Client::new().get(format!("http://{addr}/helloworld/ada"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("HTTP response");
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|value| value.to_str().expect("ASCII").to_owned())
        .unwrap_or_default();
    (status, challenge, response.json().await.expect("JSON body"))
}

/// `SayHello` over gRPC with `token` in `authorization` metadata.
async fn grpc_hello(addr: SocketAddr, token: Option<&str>) -> Result<String, tonic::Status> {
    let mut request = tonic::Request::new(HelloRequest {
        name: "ada".to_owned(),
    });
    if let Some(token) = token {
        let value = format!("Bearer {token}").parse().expect("metadata value");
        request.metadata_mut().insert("authorization", value);
    }
    let reply = grpc_client(addr).await.say_hello(request).await?;
    Ok(reply.into_inner().message)
}

/// Both transports refuse `token` with 401 / UNAUTHENTICATED, the standard body
/// and the bearer challenge; `why` is part of the message.
async fn refused(running: &Running, case: &str, token: Option<&str>, why: &str) {
    let (status, challenge, body) = http_hello(running.http, token).await;
    assert_eq!(status, 401, "{case}: {body}");
    assert_eq!(challenge, r#"Bearer error="invalid_token""#, "{case}");
    assert_eq!(body["code"], 401, "{case}: {body}");
    assert_eq!(body["reason"], "UNAUTHENTICATED", "{case}: {body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains(why), "{case}: {message:?} lacks {why:?}");

    let status = grpc_hello(running.grpc, token)
        .await
        .expect_err("gRPC refuses");
    assert_eq!(status.code(), Code::Unauthenticated, "{case}: {status:?}");
    assert_eq!(
        strata::Error::from(status).reason(),
        "UNAUTHENTICATED",
        "{case}"
    );
}

/// Both transports answer `token` as the handler does.
async fn accepted(running: &Running, case: &str, token: &str) {
    let (status, _, body) = http_hello(running.http, Some(token)).await;
    assert_eq!(status, 200, "{case}: {body}");
    let message = grpc_hello(running.grpc, Some(token)).await;
    assert!(message.is_ok(), "{case}: {message:?}");
}

#[tokio::test]
async fn tokens_are_checked_alike_on_both_transports() {
    let setup = start_with_auth().await;
    let running = &setup.running;
    let now = get_current_timestamp();

    accepted(running, "HS256", &hs256(&claims())).await;
    accepted(
        running,
        "ES256 from a PEM file",
        &es256(&setup.pem_key, None, &claims()),
    )
    .await;

    refused(running, "no token", None, "bearer token is required").await;
    refused(running, "garbage", Some("not.a.token"), "malformed").await;
    let expired = hs256(&with("exp", json!(now - 600)));
    refused(running, "expired", Some(&expired), "expired").await;
    let early = hs256(&with("nbf", json!(now + 600)));
    refused(running, "not yet valid", Some(&early), "not valid yet").await;
    let issuer = hs256(&with("iss", json!("https://elsewhere.test")));
    refused(running, "wrong issuer", Some(&issuer), "issuer").await;
    let audience = hs256(&with("aud", json!("another-api")));
    refused(running, "wrong audience", Some(&audience), "audience").await;

    let forged = {
        let key = EncodingKey::from_secret(b"another-secret-of-32-bytes-or-more!!").expect("key");
        encode(&Header::new(Algorithm::HS256), &claims(), &key).expect("signed")
    };
    refused(running, "bad signature", Some(&forged), "signature").await;
    let stranger = es256(&ec_key(), None, &claims());
    refused(running, "unknown ES256 key", Some(&stranger), "signature").await;

    // {"alg":"none","typ":"JWT"}, a valid token's claims, no signature.
    let valid = hs256(&claims());
    let payload = valid.split('.').nth(1).expect("claims part");
    let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
    refused(running, "alg none", Some(&unsigned), "malformed").await;

    // HS256 "signed" with the issuer's public key: the key verifies ES256 only.
    let confused = {
        let key = EncodingKey::from_secret(setup.pem_key.public_pem.as_bytes()).expect("key");
        encode(&Header::new(Algorithm::HS256), &claims(), &key).expect("signed")
    };
    refused(running, "algorithm confusion", Some(&confused), "signature").await;
}

#[tokio::test]
async fn a_token_without_the_required_scope_is_forbidden() {
    let setup = start_with_auth().await;
    let running = &setup.running;
    let reader = hs256(&claims());
    let admin = hs256(&with("scope", json!("notes:read notes:admin")));
    let missing = "00000000-0000-0000-0000-000000000000";

    let response = reqwest::Client::new()
        .delete(format!("http://{}/v1/notes/{missing}", running.http))
        .bearer_auth(&reader)
        .send()
        .await
        .expect("HTTP response");
    assert_eq!(response.status().as_u16(), 403);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .expect("ASCII");
    assert_eq!(
        challenge,
        r#"Bearer error="insufficient_scope", scope="notes:admin""#
    );
    let body: Value = response.json().await.expect("JSON body");
    assert_eq!(body["reason"], "PERMISSION_DENIED", "{body}");
    assert_eq!(body["metadata"]["scope"], "notes:admin", "{body}");

    let delete = |token: &str| {
        let mut request = tonic::Request::new(DeleteNoteRequest {
            id: missing.to_owned(),
        });
        let value = format!("Bearer {token}").parse().expect("metadata value");
        request.metadata_mut().insert("authorization", value);
        request
    };
    let mut notes = NotesClient::new(channel(running.grpc).await);
    let status = notes
        .delete_note(delete(&reader))
        .await
        .expect_err("forbidden");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    // With the scope the call reaches the handler, which finds no such note.
    let status = notes
        .delete_note(delete(&admin))
        .await
        .expect_err("no such note");
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
}

/// `method path` over HTTP with `token` and a JSON `body` (none when null):
/// status and JSON reply.
async fn http_as(
    running: &Running,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("http://{}{path}", running.http))
        .bearer_auth(token);
    if !body.is_null() {
        request = request.json(&body);
    }
    let response = request.send().await.expect("HTTP response");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn only_its_author_or_an_admin_changes_a_note() {
    let setup = start_with_auth().await;
    let running = &setup.running;
    let ada = hs256(&claims());
    let bob = hs256(&with("sub", json!("bob")));
    let mut carol = with("sub", json!("carol"));
    carol["scope"] = json!("notes:admin");
    let admin = hs256(&carol);

    let (status, note) = http_as(
        running,
        &ada,
        reqwest::Method::POST,
        "/v1/notes",
        json!({"title": "Groceries"}),
    )
    .await;
    assert_eq!(status, 200, "{note}");
    assert_eq!(note["author"], "ada", "{note}");
    let id = note["id"].as_str().expect("an id").to_owned();
    let path = format!("/v1/notes/{id}?updateMask=body");

    // Over HTTP and gRPC alike, bob may not change ada's note.
    let (status, body) = http_as(
        running,
        &bob,
        reqwest::Method::PATCH,
        &path,
        json!({"body": "bob was here"}),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["reason"], "NOT_NOTE_AUTHOR", "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains("only its author"), "{message}");
    let mut request = tonic::Request::new(UpdateNoteRequest {
        note: Some(Note {
            id: id.clone(),
            body: "bob was here".to_owned(),
            ..Note::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["body".to_owned()],
        }),
    });
    let value = format!("Bearer {bob}").parse().expect("metadata value");
    request.metadata_mut().insert("authorization", value);
    let mut notes = NotesClient::new(channel(running.grpc).await);
    let status = notes.update_note(request).await.expect_err("forbidden");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert_eq!(strata::Error::from(status).reason(), "NOT_NOTE_AUTHOR");

    // Its author may; so may an admin, who alone may delete here.
    let (status, body) = http_as(
        running,
        &ada,
        reqwest::Method::PATCH,
        &path,
        json!({"body": "milk"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["body"], &body["author"]),
        (&json!("milk"), &json!("ada"))
    );
    let (status, body) = http_as(
        running,
        &admin,
        reqwest::Method::DELETE,
        &format!("/v1/notes/{id}"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn public_operations_and_probes_need_no_token() {
    let setup = start_with_auth().await;
    let running = &setup.running;

    let mut health =
        tonic_health::pb::health_client::HealthClient::new(channel(running.grpc).await);
    let check = tonic_health::pb::HealthCheckRequest::default();
    let serving = health.check(check).await.expect("health without a token");
    assert_eq!(serving.into_inner().status, 1, "SERVING");

    for path in ["/healthz", "/readyz", "/metrics", "/openapi.json"] {
        let status = reqwest::get(format!("http://{}{path}", running.http))
            .await
            .expect("HTTP response")
            .status();
        assert_eq!(status.as_u16(), 200, "{path}");
    }
}

/// A server stream served over HTTP (SSE) is an api route like any other.
#[tokio::test]
async fn a_streamed_operation_needs_a_token_too() {
    let setup = start_with_auth().await;
    let watch = format!("http://{}/v1/notes:watch", setup.running.http);
    let client = reqwest::Client::new();

    let anonymous = client.get(&watch).send().await.expect("HTTP response");
    let signed = client
        .get(&watch)
        .bearer_auth(hs256(&claims()))
        .send()
        .await
        .expect("HTTP response");

    assert_eq!(anonymous.status().as_u16(), 401);
    assert_eq!(signed.status().as_u16(), 200);
    assert_eq!(
        signed.headers()["content-type"].to_str().expect("ASCII"),
        "text/event-stream"
    );
}

#[tokio::test]
async fn a_rotated_jwks_key_is_used_by_its_first_token() {
    let setup = start_with_auth().await;
    let running = &setup.running;
    let rotated = es256(&setup.rotating, Some("second"), &claims());

    // The issuer publishes its new key; the old one is retired.
    write_atomically(&setup.jwks_file, &jwks(&[("second", &setup.rotating)]));
    accepted(running, "a token of the rotated key", &rotated).await;

    // The retired kid is gone; the token is tried against the keys without a kid
    // (the PEM file) and fails there.
    let retired = es256(&ec_key(), Some("first"), &claims());
    refused(running, "a retired kid", Some(&retired), "does not verify").await;
}

#[tokio::test]
async fn a_pem_key_replaced_on_disk_is_used_without_a_restart() {
    let setup = start_with_auth().await;
    let running = &setup.running;
    let old = es256(&setup.pem_key, None, &claims());
    accepted(running, "a token of the PEM key", &old).await;

    let renewed = ec_key();
    write_atomically(&setup.public_key_file, &renewed.public_pem);
    let new = es256(&renewed, None, &claims());

    // The files are looked at again at most once a second, on a token.
    let mut status = 0;
    for _ in 0..50 {
        status = http_hello(running.http, Some(&new)).await.0;
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "the renewed PEM key was never used");
    accepted(running, "a token of the renewed PEM key", &new).await;
    let replaced = Some(old.as_str());
    refused(running, "the replaced PEM key", replaced, "does not verify").await;
}

/// Replaces `path` in one step, as a secret mount or a config tool does.
fn write_atomically(path: &Path, text: &str) {
    let next = path.with_extension("next");
    std::fs::write(&next, text).expect("write");
    std::fs::rename(&next, path).expect("rename");
}

/// A JWKS served over HTTPS by a certificate of a private CA, which
/// `auth.jwt.jwks_ca_file` trusts.
#[tokio::test]
async fn a_jwks_over_https_from_a_private_ca_is_used() {
    let (mut conf, scratch) = test_conf();
    let key = ec_key();
    let (addr, ca_pem) = serve_https_once_per_connection(jwks(&[("tls", &key)])).await;
    let ca_file = scratch.path().join("ca.pem");
    std::fs::write(&ca_file, ca_pem).expect("write CA");
    let jwt = &mut conf.auth.jwt;
    jwt.enabled = true;
    jwt.jwks_url = format!("https://{addr}/jwks.json");
    jwt.jwks_ca_file = ca_file;
    jwt.issuers = vec![ISSUER.to_owned()];
    jwt.audiences = vec![AUDIENCE.to_owned()];
    let running = start_with(&conf, scratch).await;

    accepted(
        &running,
        "a key from the https JWKS",
        &es256(&key, Some("tls"), &claims()),
    )
    .await;
}

/// Answers every HTTPS request with `document` (a certificate for 127.0.0.1
/// from a CA made here); returns the address and the CA's PEM.
async fn serve_https_once_per_connection(document: String) -> (SocketAddr, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().expect("CA key");
    let ca_pem = ca_params
        .self_signed(&ca_key)
        .expect("CA certificate")
        .pem();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().expect("key");
    let params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).expect("params");
    let cert = params.signed_by(&key, &issuer).expect("certificate");
    let chain = vec![CertificateDer::from_pem_slice(cert.pem().as_bytes()).expect("PEM")];
    let private = PrivateKeyDer::from_pem_slice(key.serialize_pem().as_bytes()).expect("key PEM");
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(tls));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let Ok(mut stream) = acceptor.accept(tcp).await else {
                continue;
            };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request).await;
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{document}",
                document.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
    });
    (addr, ca_pem)
}
