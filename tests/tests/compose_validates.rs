//! Fast tier: for every database, deploy/docker-compose.yaml passes the Compose
//! Specification schema (no Docker engine here: `docker compose config` needs one);
//! it runs the service with its database, Jaeger, Prometheus and Grafana wired to
//! each other, and every file it mounts exists. Prometheus' config passes promtool.

use std::path::PathBuf;

use strata_tests::shipping::{SHIPPED, admin_port_set_in, configured_port, yaml_file};
use strata_tests::validators::{check_jsonschema, check_schema};
use strata_tests::{generate, promtool_available};

#[test]
fn compose_files_pass_the_compose_schema() {
    let Some(tool) = check_jsonschema() else {
        return;
    };
    let mut files: Vec<PathBuf> = Vec::new();
    let mut repos = Vec::new();
    for variant in SHIPPED {
        let repo = generate(variant);
        files.push(repo.root.join("deploy/docker-compose.yaml"));
        repos.push(repo);
    }
    if let Err(err) = check_schema(&tool, "vendor.compose-spec", &files) {
        panic!("compose-spec:\n{err}");
    }
    let scratch = tempfile::tempdir().expect("temp dir");
    let broken = scratch.path().join("compose.yaml");
    std::fs::write(&broken, "services:\n  a:\n    image: x\n    portz: []\n").expect("write");
    assert!(check_schema(&tool, "vendor.compose-spec", &[broken]).is_err());
}

#[test]
fn the_stack_is_wired_together() {
    for variant in SHIPPED {
        let name = variant.name;
        let prefix = variant.env_prefix();
        let repo = generate(variant);
        let compose = yaml_file(&repo.root, "deploy/docker-compose.yaml");
        let services = &compose["services"];
        let service = &services[name];
        assert_eq!(
            service["build"]["dockerfile"].as_str(),
            Some("deploy/Dockerfile"),
            "{name}"
        );
        assert_eq!(service["build"]["context"].as_str(), Some(".."), "{name}");
        let env = &service["environment"];
        assert_eq!(
            env[format!("{prefix}__TRACE__ENDPOINT").as_str()].as_str(),
            Some("http://jaeger:4317"),
            "{name}: spans go to Jaeger"
        );
        assert_eq!(
            services["jaeger"]["environment"]["COLLECTOR_OTLP_ENABLED"].as_str(),
            Some("true")
        );
        let http = configured_port(&repo.root, "http");
        let grpc = configured_port(&repo.root, "grpc");
        let admin = admin_port_set_in(&repo.root, "deploy/Dockerfile", &prefix);
        let ports: Vec<&str> = service["ports"]
            .as_vec()
            .expect("ports")
            .iter()
            .filter_map(|port| port.as_str())
            .collect();
        assert_eq!(
            ports,
            [
                format!("{http}:{http}"),
                format!("{grpc}:{grpc}"),
                format!("127.0.0.1:{admin}:{admin}")
            ],
            "{name}"
        );

        let url = env[format!("{prefix}__DATA__DATABASE__URL").as_str()].as_str();
        match variant.database() {
            "sqlite" => {
                assert_eq!(url, None, "{name}: SQLite keeps the configured file");
                assert!(services["db"].is_badvalue(), "{name}: no database server");
            }
            database => {
                let scheme = format!("{database}://");
                let url = url.unwrap_or_else(|| panic!("{name}: database URL"));
                assert!(
                    url.starts_with(&scheme) && url.contains("@db:"),
                    "{name}: {url}"
                );
                assert_eq!(
                    service["depends_on"]["db"]["condition"].as_str(),
                    Some("service_healthy"),
                    "{name}"
                );
                assert!(!services["db"]["healthcheck"].is_badvalue(), "{name}");
            }
        }

        // Bind mounts are relative to deploy/; each must exist.
        for (key, service) in services.as_hash().expect("services") {
            for volume in service["volumes"].as_vec().into_iter().flatten() {
                let volume = volume.as_str().expect("short volume syntax");
                if let Some(source) = volume.strip_prefix("./") {
                    let source = source.split(':').next().expect("source");
                    assert!(
                        repo.root.join("deploy").join(source).exists(),
                        "{name}: {key:?} mounts missing {source}"
                    );
                }
            }
        }

        let prometheus = yaml_file(&repo.root, "deploy/prometheus/prometheus.yml");
        assert_eq!(
            prometheus["scrape_configs"][0]["static_configs"][0]["targets"][0].as_str(),
            Some(format!("{name}:{admin}").as_str()),
            "{name}: Prometheus scrapes the service's admin port"
        );
    }
}

#[test]
fn promtool_accepts_the_prometheus_config() {
    if !promtool_available() {
        return;
    }
    let repo = generate(SHIPPED[0]);
    let output = std::process::Command::new("promtool")
        .args(["check", "config"])
        .arg(repo.root.join("deploy/prometheus/prometheus.yml"))
        .output()
        .expect("promtool runs");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
