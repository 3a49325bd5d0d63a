use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::json;

use super::*;

const SECRET: &str = "a-test-secret-of-at-least-32-bytes!!";

fn jwt() -> config::Jwt {
    config::Jwt {
        enabled: true,
        hs256_secret: SECRET.to_owned(),
        issuers: vec!["https://issuer.test".to_owned()],
        audiences: vec!["hello".to_owned()],
        required_scopes: [("/pkg.Svc/Write*".to_owned(), vec!["write".to_owned()])].into(),
        ..config::Jwt::default()
    }
}

async fn authenticator(jwt: config::Jwt) -> Authenticator {
    Authenticator::new(&config::Auth { jwt })
        .await
        .expect("configured")
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

fn token(claims: serde_json::Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()).expect("key"),
    )
    .expect("signed")
}

fn good() -> serde_json::Value {
    json!({"sub": "ada", "iss": "https://issuer.test", "aud": "hello", "exp": now() + 60, "scope": "read"})
}

fn headers(token: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let value = format!("Bearer {token}").parse().expect("header value");
    headers.insert(http::header::AUTHORIZATION, value);
    headers
}

async fn outcome(claims: serde_json::Value, operation: &str) -> Result<Option<Principal>, Denied> {
    authenticator(jwt())
        .await
        .authorize(operation, &headers(&token(claims)))
        .await
}

fn refused_with(result: Result<Option<Principal>, Denied>, why: &str) {
    match result {
        Err(Denied::Unauthenticated(message)) => assert!(message.contains(why), "{message}"),
        other => panic!("expected 401 ({why}), got {other:?}"),
    }
}

#[tokio::test]
async fn a_valid_token_gives_its_principal() {
    let principal = outcome(good(), "/pkg.Svc/Read").await.expect("accepted");
    assert_eq!(
        principal.map(|p| p.subject().to_owned()),
        Some("ada".to_owned())
    );
}

#[tokio::test]
async fn refuses_tokens_outside_their_time_issuer_or_audience() {
    let with = |key: &str, value: serde_json::Value| {
        let mut claims = good();
        claims[key] = value;
        claims
    };
    refused_with(
        outcome(with("exp", json!(now() - 120)), "/pkg.Svc/Read").await,
        "expired",
    );
    refused_with(
        outcome(with("nbf", json!(now() + 120)), "/pkg.Svc/Read").await,
        "not valid yet",
    );
    refused_with(
        outcome(with("iss", json!("https://evil.test")), "/pkg.Svc/Read").await,
        "issuer",
    );
    refused_with(
        outcome(with("aud", json!("other")), "/pkg.Svc/Read").await,
        "audience",
    );
}

#[tokio::test]
async fn refuses_alg_none_and_a_missing_token() {
    let auth = authenticator(jwt()).await;
    // base64url of {"alg":"none","typ":"JWT"}, then a valid token's claims, unsigned.
    let signed = token(good());
    let claims = signed.split('.').nth(1).expect("claims part");
    let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{claims}.");
    refused_with(
        auth.authorize("/pkg.Svc/Read", &headers(&unsigned)).await,
        "algorithm",
    );
    refused_with(
        auth.authorize("/pkg.Svc/Read", &HeaderMap::new()).await,
        "required",
    );
}

#[tokio::test]
async fn a_public_operation_needs_no_token_and_a_scope_is_enforced() {
    let auth = authenticator(jwt()).await;
    let public = auth
        .authorize("/grpc.health.v1.Health/Check", &HeaderMap::new())
        .await;
    assert_eq!(public, Ok(None));
    let denied = outcome(good(), "/pkg.Svc/WriteThing").await;
    assert_eq!(denied, Err(Denied::Forbidden("write".to_owned())));
}

#[tokio::test]
async fn off_lets_everything_through() {
    let auth = Authenticator::new(&config::Auth::default())
        .await
        .expect("off");
    assert!(!auth.enabled());
    assert_eq!(
        auth.authorize("/pkg.Svc/Read", &HeaderMap::new()).await,
        Ok(None)
    );
}

#[tokio::test]
async fn a_route_tagged_with_its_operation_checks_its_caller() {
    use axum::routing::get;
    use tower::ServiceExt;

    let auth = authenticator(jwt()).await;
    let router = http(
        axum::Router::new().route(
            "/read",
            crate::middleware::operation(
                "/pkg.Svc/Read",
                get(|principal: Option<axum::Extension<Principal>>| async move {
                    principal.map_or_else(String::new, |p| p.subject().to_owned())
                }),
            ),
        ),
        &auth,
    );
    let call = |headers: HeaderMap| {
        let router = router.clone();
        async move {
            let mut request = Request::get("/read").body(Body::empty()).expect("request");
            *request.headers_mut() = headers;
            let response = router.oneshot(request).await.expect("infallible");
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), 4096)
                .await
                .expect("body");
            (status, String::from_utf8_lossy(&body).into_owned())
        }
    };
    assert_eq!(call(HeaderMap::new()).await.0, 401);
    assert_eq!(
        call(headers(&token(good()))).await,
        (http::StatusCode::OK, "ada".to_owned())
    );
}
