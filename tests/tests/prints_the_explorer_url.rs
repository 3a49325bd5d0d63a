//! Fast tier: `make docs-open` in a generated repository prints the URL of the
//! API explorer (the port of `server.http.addr`), and refuses, saying what to
//! set, when `server.http.docs` is off.

use strata_tests::{Made, Variant, generate, make};

#[test]
fn docs_open_prints_the_explorer_url_of_the_configured_port() {
    let repo = generate(Variant {
        name: "docs-port",
        defines: &[("http_port", "8123")],
    });

    let Made { ok, text } = make(&repo.root, &["-s", "docs-open"]);
    assert!(ok, "{text}");
    assert_eq!(text.trim(), "http://localhost:8123/docs");

    let config = repo.root.join("configs/config.yaml");
    let text = std::fs::read_to_string(&config).expect("config.yaml");
    assert!(
        text.contains("    docs: true\n"),
        "the sample config turns it on"
    );
    std::fs::write(
        &config,
        text.replace("    docs: true\n", "    docs: false\n"),
    )
    .expect("write config.yaml");
    let Made { ok, text } = make(&repo.root, &["-s", "docs-open"]);
    assert!(!ok, "{text}");
    assert!(
        text.contains("server.http.docs is off in configs/config.yaml"),
        "{text}"
    );
}
