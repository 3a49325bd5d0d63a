//! Fast tier: the HTTP, gRPC and admin ports are 1-65535 and differ, or a listener
//! could not bind. A bad `-d http_port=...` / `-d grpc_port=...` / `-d admin_port=...`
//! is refused with a message naming the port and its value, before any file is written.
//!
//! cargo-generate 0.23.14 creates the (empty) service folder before it reads the
//! placeholders, and the only hook that runs earlier (`init`) cannot see `-d`
//! values, so a refused port leaves that empty folder; no file is ever written.

use std::path::{Path, PathBuf};

use strata_tests::{Variant, generate, generate_err_with};

/// Nothing but, at most, the empty folder named after the service.
fn assert_nothing_written(name: &str, left: &[PathBuf]) {
    assert!(
        left.is_empty() || left == [PathBuf::from(name)],
        "a refused port left {left:?} behind"
    );
}

fn assert_port_refused(key: &str, value: &str) {
    let (stderr, left) = generate_err_with("ports", &[(key, value)]);
    assert!(
        stderr.contains(&format!("\"{value}\" is not a valid value for {key}")),
        "-d {key}={value} should be refused naming {key}:\n{stderr}"
    );
    assert_nothing_written("ports", &left);
}

#[test]
fn refuses_ports_outside_1_to_65535() {
    for key in ["http_port", "grpc_port", "admin_port"] {
        for value in ["0", "65536", "70000", "abc", "08080"] {
            assert_port_refused(key, value);
        }
    }
}

#[test]
fn refuses_the_same_port_for_both_servers() {
    let (stderr, left) =
        generate_err_with("ports", &[("http_port", "8080"), ("grpc_port", "8080")]);
    assert!(
        stderr.contains("http_port and grpc_port are both 8080")
            && stderr.contains("-d grpc_port=9000"),
        "equal ports should be refused, saying which -d to pass:\n{stderr}"
    );
    assert_nothing_written("ports", &left);
    // The defaults' own gRPC port, asked for by HTTP, gets another suggestion.
    let (stderr, _) = generate_err_with("ports", &[("http_port", "9000")]);
    assert!(stderr.contains("-d grpc_port=9001"), "{stderr}");
}

#[test]
fn refuses_an_admin_port_another_listener_has() {
    for (other, value) in [("http_port", "8000"), ("grpc_port", "9000")] {
        let (stderr, left) = generate_err_with("ports", &[("admin_port", value)]);
        assert!(
            stderr.contains(&format!("admin_port and {other} are both {value}"))
                && stderr.contains("-d admin_port=8081"),
            "an admin port equal to {other} should be refused, saying which -d to pass:\n{stderr}"
        );
        assert_nothing_written("ports", &left);
    }
}

#[test]
fn accepts_the_edges_of_the_range() {
    let repo = generate(Variant {
        name: "edge-ports",
        defines: &[
            ("http_port", "65535"),
            ("grpc_port", "1"),
            ("admin_port", "2"),
        ],
    });
    let config = read(&repo.root.join("configs/config.yaml"));
    assert!(config.contains("addr: 0.0.0.0:65535"), "{config}");
    assert!(config.contains("addr: 0.0.0.0:1\n"), "{config}");
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}
