use std::path::Path;

use super::*;

/// The repository's own config file, as shipped.
fn shipped() -> Sources {
    let conf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/config.yaml");
    Sources::new(conf, "CONF_TEST_SHIPPED")
}

/// The shipped config with one `--set` override.
fn shipped_with(pair: &str) -> Result<Bootstrap, Error> {
    load(&Sources {
        overrides: vec![pair.to_owned()],
        ..shipped()
    })
}

#[test]
fn the_shipped_config_loads() {
    let conf = load(&shipped()).expect("configs/config.yaml is valid");

    assert!(conf.data.database.max_connections >= 1);
}

#[test]
fn refuses_an_empty_pool() {
    let err = shipped_with("data.database.max_connections=0")
        .expect_err("refused")
        .to_string();

    assert!(
        err.ends_with("`data.database.max_connections` must be at least 1"),
        "{err}"
    );
}

#[test]
fn names_a_database_url_it_cannot_use_without_its_password() {
    let err = shipped_with("data.database.url=postgress://app:hunter2@db/app")
        .expect_err("refused")
        .to_string();

    assert!(
        err.ends_with(
            r#"`data.database.url` must start with sqlite:, postgres:// or mysql://, got "postgress://app:<redacted>@db/app""#
        ),
        "{err}"
    );
}

#[test]
fn debug_output_and_the_printed_config_hide_the_database_password() {
    let conf = shipped_with("data.database.url=postgres://app:hunter2@db/app").expect("valid");

    let debug = format!("{:?}", conf.data.database);
    let printed = redacted(&conf);

    for shown in [debug, printed] {
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("postgres://app:<redacted>@db/app"),
            "{shown}"
        );
    }
}

#[test]
fn refuses_a_zero_probe_interval() {
    let err = shipped_with("data.database.probe_interval=0s")
        .expect_err("refused")
        .to_string();

    assert!(
        err.ends_with("`data.database.probe_interval` must be more than 0s"),
        "{err}"
    );
}

#[test]
fn a_config_without_probe_interval_still_loads() {
    let shipped = std::fs::read_to_string(shipped().conf).expect("configs/config.yaml");
    let older: String = shipped
        .lines()
        .filter(|line| !line.contains("probe_interval"))
        .map(|line| format!("{line}\n"))
        .collect();
    let file = std::env::temp_dir().join(format!("conf-older-{}.yaml", std::process::id()));
    std::fs::write(&file, older).expect("write the older config");

    let conf = load(&Sources::new(&file, "CONF_TEST_OLDER"));
    let _ = std::fs::remove_file(&file);

    let conf = conf.expect("a config predating probe_interval loads");
    assert_eq!(
        conf.data.database.probe_interval,
        std::time::Duration::from_secs(1)
    );
}

#[test]
fn auth_and_tls_are_off_as_shipped() {
    let conf = load(&shipped()).expect("configs/config.yaml is valid");

    assert!(!conf.auth.jwt.enabled);
    assert!(!conf.server.tls.enabled());
}

#[test]
fn the_jwt_secret_never_shows() {
    let secret = "s3cret-s3cret-s3cret-s3cret-s3cret";
    let conf = shipped_with(&format!("auth.jwt.hs256_secret={secret}")).expect("valid");

    let debug = format!("{:?}", conf.auth);
    let printed = redacted(&conf);
    for shown in [debug, printed] {
        assert!(!shown.contains(secret), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }
    let err = shipped_with("auth.jwt.hs256_secret=short")
        .expect_err("refused")
        .to_string();
    assert!(
        err.ends_with("`auth.jwt.hs256_secret` must be at least 32 bytes, got 5"),
        "{err}"
    );
}

#[test]
fn refuses_jwt_on_without_a_key_and_tls_without_its_key() {
    let err = shipped_with("auth.jwt.enabled=true")
        .expect_err("refused")
        .to_string();
    assert!(
        err.contains("`auth.jwt.enabled` is true but no key"),
        "{err}"
    );

    let err = shipped_with("server.tls.cert_file=configs/config.yaml")
        .expect_err("refused")
        .to_string();
    assert!(
        err.ends_with(
            "`server.tls.key_file` must be set too: TLS needs both cert_file and key_file"
        ),
        "{err}"
    );
}
