//! What the JWT check costs per request: the same trivial gRPC route
//! called in a loop without `auth.jwt`, then with it for HS256 and ES256 tokens.
//! Run on a release build: `cargo run --release -p strata --example auth_cost`.

use std::time::Instant;

use axum::Router;
use axum::body::Body;
use http::Request;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode, get_current_timestamp};
use strata::auth::{self, Authenticator};
use strata::config::{Auth, Jwt};
use tower::ServiceExt;

const CALLS: u32 = 20_000;
const SECRET: &str = "a-shared-secret-of-32-bytes-or-more!";

/// A gRPC method the descriptor set below declares, answered at once.
const PATH: &str = "/grpc.health.v1.Health/Check";

fn router() -> Router {
    Router::new().route(PATH, axum::routing::post(|| async { "ok" }))
}

fn checked(auth: &Authenticator) -> Router {
    auth::grpc(router(), auth, &[tonic_health::pb::FILE_DESCRIPTOR_SET])
}

/// Mean time of one call of `router` carrying `token`, in microseconds.
async fn per_call(router: Router, token: Option<&str>) -> f64 {
    let request = || {
        let mut builder = Request::post(PATH);
        if let Some(token) = token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        builder.body(Body::empty()).expect("request")
    };
    for _ in 0..1_000 {
        let _ = router.clone().oneshot(request()).await;
    }
    let started = Instant::now();
    for _ in 0..CALLS {
        let response = router.clone().oneshot(request()).await.expect("response");
        assert_eq!(response.status(), 200);
    }
    started.elapsed().as_secs_f64() * 1e6 / f64::from(CALLS)
}

#[tokio::main]
async fn main() {
    let claims = serde_json::json!({
        "sub": "bench", "iss": "https://issuer", "aud": "api",
        "exp": get_current_timestamp() + 3600, "scope": "a b c",
    });
    let ec = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let scratch = std::env::temp_dir().join(format!("auth-cost-{}.pem", std::process::id()));
    std::fs::write(&scratch, ec.public_key_pem()).expect("write PEM");
    let jwt = Jwt {
        enabled: true,
        hs256_secret: SECRET.to_owned(),
        public_key_files: vec![scratch.clone()],
        issuers: vec!["https://issuer".to_owned()],
        audiences: vec!["api".to_owned()],
        // The health check is public by default; here it stands for any method.
        public_operations: Vec::new(),
        ..Jwt::default()
    };
    let auth = Authenticator::new(&Auth { jwt }).await.expect("auth");
    let _ = std::fs::remove_file(&scratch);
    let hs = encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()).expect("key"),
    )
    .expect("HS256 token");
    let es_key = EncodingKey::from_ec_pem(ec.serialize_pem().as_bytes()).expect("key");
    let es = encode(&Header::new(Algorithm::ES256), &claims, &es_key).expect("ES256 token");

    let bare = per_call(router(), None).await;
    let hs256 = per_call(checked(&auth), Some(&hs)).await;
    let es256 = per_call(checked(&auth), Some(&es)).await;
    println!("{CALLS} calls each, mean per call:");
    println!("  no auth          {bare:8.2} µs");
    println!(
        "  HS256 token      {hs256:8.2} µs  (+{:.2} µs)",
        hs256 - bare
    );
    println!(
        "  ES256 token      {es256:8.2} µs  (+{:.2} µs)",
        es256 - bare
    );
}
