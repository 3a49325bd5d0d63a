//! Fast tier: a name that cannot be a crate, a binary and an environment prefix at
//! once is refused before anything is written, with a message saying what to change
//! and a valid `--name` to type instead.

use strata_tests::{Variant, generate, generate_err};

fn assert_refused(name: &str, because: &str) -> String {
    let (stderr, left) = generate_err(name);
    assert!(
        stderr.contains(&format!("invalid service name `{name}`")) && stderr.contains(because),
        "refusing {name:?} should say {because:?}:\n{stderr}"
    );
    assert!(left.is_empty(), "refusing {name:?} left {left:?} behind");
    stderr
}

/// Refused, and the message offers `--name <instead>`, which is itself accepted.
fn assert_refused_offering(name: &str, because: &str, instead: &'static str) {
    let stderr = assert_refused(name, because);
    assert!(
        stderr.contains(&format!("e.g. --name {instead}")),
        "refusing {name:?} should offer `--name {instead}`:\n{stderr}"
    );
    let offered = generate(Variant {
        name: instead,
        defines: &[],
    });
    assert!(offered.root.join("Cargo.toml").is_file());
}

#[test]
fn refuses_rust_keywords() {
    for name in ["fn", "self", "async", "struct", "type"] {
        assert_refused(name, "is a Rust keyword");
    }
}

#[test]
fn refuses_names_cargo_reserves() {
    for name in ["test", "std", "core"] {
        assert_refused(name, "is reserved by Rust/cargo");
    }
}

#[test]
fn refuses_a_leading_digit() {
    assert_refused("1password", "it starts with a digit");
}

#[test]
fn refuses_characters_a_crate_name_cannot_hold() {
    assert_refused("hello svc", "it contains ` `");
    assert_refused("hello.svc", "it contains `.`");
}

#[test]
fn refuses_uppercase_with_the_lowercase_suggestion() {
    assert_refused("HelloSvc", "use `hellosvc`");
}

#[test]
fn refuses_the_names_of_the_layer_crates() {
    assert_refused(
        "api",
        "is the name of one of the generated workspace's crates",
    );
}

#[test]
fn refuses_the_framework_crate_names() {
    for name in ["strata", "strata-codegen"] {
        assert_refused(
            name,
            "is the name of one of the generated workspace's crates",
        );
    }
}

#[test]
fn refuses_names_longer_than_64_characters() {
    const LONGEST: &str = "a234567890123456789012345678901234567890123456789012345678901234";
    assert_eq!(LONGEST.len(), 64);
    let (stderr, left) = generate_err(&format!("{LONGEST}5"));
    assert!(
        stderr.contains("it is longer than 64 characters"),
        "{stderr}"
    );
    assert!(
        left.is_empty(),
        "refusing a 65-character name left {left:?}"
    );
    // 64 is still a name.
    let repo = generate(Variant {
        name: LONGEST,
        defines: &[],
    });
    assert!(repo.root.join("Cargo.toml").is_file());
}

#[test]
fn says_which_name_to_pass_instead() {
    assert_refused_offering("1password", "it starts with a digit", "svc-1password");
    assert_refused_offering("HelloSvc", "it has uppercase letters", "hellosvc");
    assert_refused_offering("fn", "is a Rust keyword", "fn-svc");
    assert_refused_offering("hello.svc", "it contains `.`", "hello-svc");
    assert_refused_offering(
        "api",
        "is the name of one of the generated workspace's crates",
        "api-svc",
    );
}
