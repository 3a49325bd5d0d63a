//! What the JWT check costs per request: the same trivial gRPC route
//! called in a loop without `auth.jwt`, then with it for HS256, ES256 and EdDSA
//! tokens.
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

/// CPU time this thread has used, in nanoseconds (Linux), so a busy machine does
/// not inflate the numbers as wall time would; `None` elsewhere.
fn cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

/// Mean CPU time (wall time where that cannot be read) of one call of `router`
/// carrying `token`, in microseconds.
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
    let (started, cpu_started) = (Instant::now(), cpu_ns());
    for _ in 0..CALLS {
        let response = router.clone().oneshot(request()).await.expect("response");
        assert_eq!(response.status(), 200);
    }
    let nanos = match (cpu_started, cpu_ns()) {
        (Some(start), Some(end)) => end.saturating_sub(start) as f64,
        _ => started.elapsed().as_secs_f64() * 1e9,
    };
    nanos / 1e3 / f64::from(CALLS)
}

// One thread, so its CPU time is the calls' CPU time.
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let claims = serde_json::json!({
        "sub": "bench", "iss": "https://issuer", "aud": "api",
        "exp": get_current_timestamp() + 3600, "scope": "a b c",
    });
    let ec = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let ed = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).expect("key");
    let scratch = std::env::temp_dir().join(format!("auth-cost-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    let (ec_pem, ed_pem) = (scratch.join("ec.pem"), scratch.join("ed.pem"));
    std::fs::write(&ec_pem, ec.public_key_pem()).expect("write PEM");
    std::fs::write(&ed_pem, ed.public_key_pem()).expect("write PEM");
    let jwt = Jwt {
        enabled: true,
        hs256_secret: SECRET.to_owned(),
        public_key_files: vec![ec_pem, ed_pem],
        issuers: vec!["https://issuer".to_owned()],
        audiences: vec!["api".to_owned()],
        // The health check is public by default; here it stands for any method.
        public_operations: Vec::new(),
        ..Jwt::default()
    };
    let auth = Authenticator::new(&Auth { jwt }).await.expect("auth");
    let _ = std::fs::remove_dir_all(&scratch);
    let hs = encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()).expect("key"),
    )
    .expect("HS256 token");
    let es_key = EncodingKey::from_ec_pem(ec.serialize_pem().as_bytes()).expect("key");
    let es = encode(&Header::new(Algorithm::ES256), &claims, &es_key).expect("ES256 token");
    let ed_key = EncodingKey::from_ed_pem(ed.serialize_pem().as_bytes()).expect("key");
    let eddsa = encode(&Header::new(Algorithm::EdDSA), &claims, &ed_key).expect("EdDSA token");

    let bare = per_call(router(), None).await;
    let hs256 = per_call(checked(&auth), Some(&hs)).await;
    let es256 = per_call(checked(&auth), Some(&es)).await;
    let ed25519 = per_call(checked(&auth), Some(&eddsa)).await;
    println!("{CALLS} calls each, mean CPU time per call:");
    println!("  no auth          {bare:8.2} µs");
    for (name, time) in [("HS256", hs256), ("ES256", es256), ("EdDSA", ed25519)] {
        println!(
            "  {name} token      {time:8.2} µs  (+{:.2} µs)",
            time - bare
        );
    }
}
