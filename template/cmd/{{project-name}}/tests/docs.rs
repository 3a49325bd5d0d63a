//! The API explorer through the whole HTTP stack: served at /docs when
//! `server.http.docs` is on (configs/config.yaml), with its own
//! Content-Security-Policy and caching, and absent when it is off.

mod support;

use support::{start_with, test_conf};

#[tokio::test]
async fn the_explorer_is_served_when_docs_is_on() {
    let (conf, scratch) = test_conf();
    assert!(conf.server.http.docs, "configs/config.yaml turns it on");
    let service = start_with(&conf, scratch).await;

    let page = reqwest::get(format!("http://{}/docs", service.http))
        .await
        .expect("the page");
    assert_eq!(page.status().as_u16(), 200);
    let header = |response: &reqwest::Response, name: &str| {
        response.headers()[name].to_str().expect("ASCII").to_owned()
    };
    assert_eq!(header(&page, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header(&page, "x-content-type-options"), "nosniff");
    assert!(header(&page, "content-security-policy").contains("default-src 'none'"));
    let html = page.text().await.expect("HTML");
    let script = html
        .split('"')
        .find(|part| part.ends_with("/swagger-ui-bundle.js"))
        .unwrap_or_else(|| panic!("no Swagger UI script in {html}"))
        .to_owned();

    let bundle = reqwest::get(format!("http://{}{script}", service.http))
        .await
        .expect("the script");
    assert_eq!(bundle.status().as_u16(), 200);
    assert_eq!(
        header(&bundle, "content-type"),
        "text/javascript; charset=utf-8"
    );
    assert_eq!(
        header(&bundle, "cache-control"),
        "public, max-age=31536000, immutable",
        "the route's caching survives the middleware"
    );
}

#[tokio::test]
async fn no_explorer_when_docs_is_off() {
    let (mut conf, scratch) = test_conf();
    conf.server.http.docs = false;
    let service = start_with(&conf, scratch).await;

    let page = reqwest::get(format!("http://{}/docs", service.http))
        .await
        .expect("a reply");

    assert_eq!(page.status().as_u16(), 404);
}
