//! Fast tier: a name that cannot be a crate, a binary and an environment prefix at
//! once is refused before anything is written, with a message saying what to change.

use strata_tests::generate_err;

fn assert_refused(name: &str, because: &str) {
    let (stderr, left) = generate_err(name);
    assert!(
        stderr.contains(&format!("invalid service name `{name}`")) && stderr.contains(because),
        "refusing {name:?} should say {because:?}:\n{stderr}"
    );
    assert!(left.is_empty(), "refusing {name:?} left {left:?} behind");
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
