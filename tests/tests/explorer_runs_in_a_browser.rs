//! Slow tier: the API explorer of the sample (`/docs`, on in configs/config.yaml)
//! works in a real headless browser: it lists every operation of
//! `/openapi.json`, and a person can run SayHello from it and read the reply.
//! The page loads nothing but what the service serves, under its own
//! Content-Security-Policy: a console error or failed request fails the test.

use strata_tests::browser::browser;
use strata_tests::{Variant, start_built};

/// Counts the operations the page lists, then opens SayHello, fills in `name`,
/// executes it and prints the status and body the page shows.
const RUN_SAY_HELLO: &str = r#"
    await page.locator(".opblock").first().waitFor();
    const listed = await page.locator(".opblock").count();
    const operation = page.locator(".opblock")
      .filter({ has: page.locator('[data-path="/helloworld/{name}"]') });
    await operation.locator(".opblock-summary").click();
    await operation.locator('input[placeholder="name"]').fill("browser");
    await operation.locator("button.execute").click();
    const reply = operation.locator(".live-responses-table .response");
    await reply.locator(".response-col_description pre").first().waitFor();
    const status = (await reply.locator(".response-col_status").first().innerText()).trim();
    const body = await reply.locator(".response-col_description pre").first().innerText();
    console.log(JSON.stringify({ listed, status, body }));
"#;

#[tokio::test]
#[ignore = "slow tier: builds and runs a generated service (make test)"]
async fn the_explorer_runs_say_hello_in_a_browser() {
    let Some(browser) = browser() else {
        return;
    };
    let (service, _scratch) = start_built(Variant::SQLITE, &[]);
    let document: serde_json::Value = reqwest::get(format!("http://{}/openapi.json", service.http))
        .await
        .expect("the OpenAPI document")
        .json()
        .await
        .expect("JSON");
    let operations: usize = document["paths"]
        .as_object()
        .expect("paths")
        .values()
        .map(|path| path.as_object().map_or(0, serde_json::Map::len))
        .sum();

    let url = format!("http://{}/docs", service.http);
    let printed = tokio::task::spawn_blocking(move || browser.run(&url, RUN_SAY_HELLO))
        .await
        .expect("the browser run")
        .unwrap_or_else(|failure| {
            panic!(
                "the explorer failed in chromium:\n{failure}\n{}",
                service.output()
            )
        });

    let seen: serde_json::Value =
        serde_json::from_str(printed.trim()).unwrap_or_else(|err| panic!("{err}: {printed}"));
    assert_eq!(
        seen["listed"], operations,
        "every operation is listed: {seen}"
    );
    assert_eq!(seen["status"], "200", "{seen}");
    let reply: serde_json::Value = serde_json::from_str(seen["body"].as_str().expect("body"))
        .unwrap_or_else(|err| panic!("{err}: {seen}"));
    assert_eq!(reply, serde_json::json!({ "message": "Hello browser" }));
}
