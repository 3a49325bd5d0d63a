//! The API explorer (`server.http.docs`): a page at `/docs` that lists every
//! operation of `/openapi.json` and lets a person try each one. It is Swagger UI,
//! vendored under `assets/swagger-ui/` (Apache-2.0; its LICENSE and NOTICE are
//! there) and compiled into the binary: nothing is fetched from anywhere else,
//! at build time or at run time, and the page's Content-Security-Policy says so.

use axum::Router;
use axum::http::HeaderValue;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::routing::get;

/// The vendored Swagger UI release (swagger-ui-dist on npm). Its files are
/// served under a path naming it, so a new release is never mixed with an old
/// one a browser cached.
pub const SWAGGER_UI_VERSION: &str = "5.35.0";

/// Where the page is.
pub const PATH: &str = "/docs";

const BUNDLE: &[u8] = include_bytes!("../assets/swagger-ui/swagger-ui-bundle.js");
const STYLESHEET: &[u8] = include_bytes!("../assets/swagger-ui/swagger-ui.css");
/// Starts Swagger UI on `/openapi.json` (ours, not Swagger UI's).
const EXPLORER: &[u8] = include_bytes!("../assets/docs/explorer.js");
/// The page; `VERSION` in it stands for [`SWAGGER_UI_VERSION`].
const PAGE: &str = include_str!("../assets/docs/index.html");

/// Scripts, styles and requests from this origin only; Swagger UI's own
/// stylesheet sets inline styles and its icons are `data:` images.
const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// The asset files never change under their versioned path: a browser keeps
/// them a year. The page itself is asked for again each time.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

/// `GET /docs` and its assets. Merge it into the HTTP router when
/// `server.http.docs` is on, outside the routes that need a token: the page and
/// the OpenAPI document are public, the calls made from it are not.
pub fn routes() -> Router {
    let page = PAGE.replace("VERSION", SWAGGER_UI_VERSION);
    let asset = |name: &str| format!("{PATH}/swagger-ui-{SWAGGER_UI_VERSION}/{name}");
    Router::new()
        .route(
            PATH,
            get(move || {
                let page = page.clone();
                async move {
                    (
                        [
                            (
                                CONTENT_TYPE,
                                HeaderValue::from_static("text/html; charset=utf-8"),
                            ),
                            (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
                            (
                                CONTENT_SECURITY_POLICY,
                                HeaderValue::from_static(PAGE_POLICY),
                            ),
                        ],
                        page,
                    )
                        .into_response()
                }
            }),
        )
        .route(
            &asset("swagger-ui-bundle.js"),
            get(|| async { immutable(JAVASCRIPT, BUNDLE) }),
        )
        .route(
            &asset("swagger-ui.css"),
            get(|| async { immutable("text/css; charset=utf-8", STYLESHEET) }),
        )
        .route(
            &asset("explorer.js"),
            get(|| async { immutable(JAVASCRIPT, EXPLORER) }),
        )
}

fn immutable(content_type: &'static str, body: &'static [u8]) -> axum::response::Response {
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE)),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use axum::body::{Body, to_bytes};
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    use super::*;

    async fn get(path: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let response = routes()
            .oneshot(Request::get(path).body(Body::empty()).expect("request"))
            .await
            .expect("infallible");
        let (parts, body) = response.into_parts();
        let body = to_bytes(body, 4 << 20).await.expect("body");
        (parts.status, parts.headers, body.to_vec())
    }

    #[tokio::test]
    async fn the_page_loads_only_assets_this_service_serves() {
        let (status, headers, page) = get("/docs").await;

        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["content-type"], "text/html; charset=utf-8");
        assert_eq!(headers["cache-control"], "no-cache");
        assert!(
            headers["content-security-policy"]
                .to_str()
                .is_ok_and(|csp| csp.contains("script-src 'self';")),
            "{headers:?}"
        );
        let page = String::from_utf8(page).expect("UTF-8");
        let sources: Vec<&str> = page
            .split(['"', '\''])
            .filter(|part| part.starts_with('/') || part.contains("://"))
            .collect();
        assert_eq!(sources.len(), 3, "{page}");
        for source in sources {
            let (status, _, _) = get(source).await;
            assert_eq!(status, StatusCode::OK, "{source} is served");
        }
    }

    #[tokio::test]
    async fn assets_have_their_types_and_are_cached_under_their_version() {
        let base = format!("/docs/swagger-ui-{SWAGGER_UI_VERSION}");
        for (name, content_type) in [
            ("swagger-ui-bundle.js", JAVASCRIPT),
            ("swagger-ui.css", "text/css; charset=utf-8"),
            ("explorer.js", JAVASCRIPT),
        ] {
            let (status, headers, body) = get(&format!("{base}/{name}")).await;
            assert_eq!(status, StatusCode::OK, "{name}");
            assert_eq!(headers["content-type"], content_type, "{name}");
            assert_eq!(headers["cache-control"], IMMUTABLE, "{name}");
            assert!(!body.is_empty(), "{name}");
        }
        let (_, _, explorer) = get(&format!("{base}/explorer.js")).await;
        assert!(
            String::from_utf8_lossy(&explorer).contains("url: \"/openapi.json\""),
            "the explorer reads this service's document"
        );
        let (status, _, _) = get("/docs/swagger-ui-0.0.1/swagger-ui-bundle.js").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "only the vendored release");
    }
}
