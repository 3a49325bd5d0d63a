//! The Grafana dashboard asks only for metrics the service exports. Fast tier: it
//! parses, every query names a metric, it uses the provisioned datasource and it
//! covers requests, errors, latency, in-flight and the DB pool. Slow tier: the
//! built SQLite variant, after a call on each transport, exports every metric name
//! the dashboard's queries use.

use std::collections::BTreeSet;

use serde_json::Value;
use strata_tests::shipping::{read, yaml_file};
use strata_tests::{Service, TestDatabase, Variant, cargo, generate, grpc};

const DASHBOARD: &str = "deploy/grafana/dashboards/red.json";

/// Identifiers directly followed by a selector or a range (`name{` or `name[`):
/// the metric names of a PromQL expression. Labels, functions and `$variables`
/// never stand in that position.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes = expr.as_bytes();
    let mut start = None;
    for (at, &byte) in bytes.iter().enumerate() {
        let ident = byte.is_ascii_alphanumeric() || byte == b'_' || byte == b':';
        match (ident, start) {
            (true, None) => start = Some(at),
            (false, Some(from)) => {
                let preceded_by_dollar = from > 0 && bytes[from - 1] == b'$';
                if (byte == b'{' || byte == b'[') && !preceded_by_dollar {
                    names.insert(expr[from..at].to_owned());
                }
                start = None;
            }
            _ => {}
        }
    }
    names
}

/// Every PromQL expression of the dashboard: panel targets and the `job` variable's
/// `label_values(<metric>, job)`.
fn queries(dashboard: &Value) -> Vec<String> {
    let mut exprs = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            exprs.push(target["expr"].as_str().expect("expr").to_owned());
        }
    }
    for variable in dashboard["templating"]["list"]
        .as_array()
        .expect("templating")
    {
        let query = variable["query"]["query"].as_str().expect("variable query");
        let metric = query
            .strip_prefix("label_values(")
            .and_then(|rest| rest.split(',').next())
            .expect("label_values(<metric>, <label>)");
        exprs.push(format!("{metric}{{}}"));
    }
    exprs
}

fn dashboard_metrics(dashboard: &Value) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for expr in queries(dashboard) {
        let found = metric_names(&expr);
        assert!(!found.is_empty(), "no metric in {expr}");
        names.extend(found);
    }
    names
}

#[test]
fn the_dashboard_covers_red_and_the_pool() {
    let repo = generate(Variant::SQLITE);
    let dashboard: Value =
        serde_json::from_str(&read(&repo.root, DASHBOARD)).expect("dashboard is JSON");
    let names = dashboard_metrics(&dashboard);
    for promised in [
        "server_requests_total",
        "server_request_duration_seconds_bucket",
        "server_requests_in_flight",
        "db_pool_connections",
        "db_pool_idle_connections",
    ] {
        assert!(
            names.contains(promised),
            "{promised} not on the dashboard: {names:?}"
        );
    }
    let exprs = queries(&dashboard).join("\n");
    for quantile in ["0.50", "0.95", "0.99"] {
        assert!(
            exprs.contains(&format!("histogram_quantile({quantile},")),
            "p{quantile}"
        );
    }
    assert!(exprs.contains(r#"code=~"5..""#), "an error ratio over 5xx");

    let datasources = yaml_file(
        &repo.root,
        "deploy/grafana/provisioning/datasources/prometheus.yaml",
    );
    let uid = datasources["datasources"][0]["uid"].as_str().expect("uid");
    for panel in dashboard["panels"].as_array().expect("panels") {
        assert_eq!(
            panel["datasource"]["uid"].as_str(),
            Some(uid),
            "{}",
            panel["title"]
        );
    }
}

#[test]
fn metric_names_finds_selectors_only() {
    let names = metric_names(
        r#"histogram_quantile(0.9, sum by (le) (rate(a_bucket{job="$job"}[$__rate_interval]))) / b[5m]"#,
    );
    assert_eq!(
        names,
        BTreeSet::from(["a_bucket".to_owned(), "b".to_owned()])
    );
}

/// Sample names in the Prometheus text format: `name{labels} value` or `name value`.
fn exported(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| line.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
#[ignore = "slow tier: builds and starts a generated service (make test)"]
async fn every_dashboard_metric_is_exported() {
    let variant = Variant::SQLITE;
    let repo = generate(variant);
    cargo(&repo.root, &["build"]);
    let database = TestDatabase::create(variant, &repo.root);
    let env = [(
        format!("{}__DATA__DATABASE__URL", variant.env_prefix()),
        database.url.clone(),
    )];
    let service = Service::start(&repo.root, variant, &env);

    // Request metrics have samples only once a request was counted.
    let reply = reqwest::get(format!("http://{}/helloworld/dashboard", service.http))
        .await
        .expect("HTTP call");
    assert_eq!(reply.status(), 200, "{}", service.output());
    grpc::say_hello(service.grpc, "dashboard")
        .await
        .expect("gRPC call");
    let metrics = reqwest::get(format!("http://{}/metrics", service.http))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");

    let dashboard: Value =
        serde_json::from_str(&read(&repo.root, DASHBOARD)).expect("dashboard is JSON");
    let exported = exported(&metrics);
    let missing: Vec<String> = dashboard_metrics(&dashboard)
        .into_iter()
        .filter(|name| !exported.contains(name))
        .collect();
    assert!(
        missing.is_empty(),
        "the dashboard queries {missing:?}, which /metrics does not export:\n{metrics}"
    );
}
