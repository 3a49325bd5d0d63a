use std::path::{Path, PathBuf};

use config::{Config, Environment, File, FileFormat};

use crate::Bootstrap;

/// Why the configuration could not be loaded. Each message names what to fix.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("config file {path} not found (pass another with --conf)")]
    NotFound { path: PathBuf },
    // The config error is in the message, not a `#[source]`: one line says it all.
    #[error("config file {path}: {reason}")]
    Invalid {
        path: PathBuf,
        reason: config::ConfigError,
    },
    #[error("config file {path}: `{key}` {problem}")]
    BadValue {
        path: PathBuf,
        key: &'static str,
        problem: String,
    },
}

/// The prefix of the environment variables that override the file for the service
/// `name`: `hello-svc` reads `HELLO_SVC__SERVER__HTTP__ADDR` for `server.http.addr`.
pub fn env_prefix(name: &str) -> String {
    name.replace('-', "_").to_uppercase()
}

/// Loads `path`, then applies the `<env_prefix>__SECTION__KEY` environment variables.
pub fn load(path: &Path, env_prefix: &str) -> Result<Bootstrap, Error> {
    load_with(path, environment(env_prefix))
}

/// The environment source: `PREFIX__A__B` sets `a.b`.
fn environment(prefix: &str) -> Environment {
    Environment::with_prefix(prefix)
        .prefix_separator("__")
        .separator("__")
        .try_parsing(true)
}

fn load_with(path: &Path, environment: Environment) -> Result<Bootstrap, Error> {
    if !path.is_file() {
        return Err(Error::NotFound { path: path.into() });
    }
    let invalid = |reason| Error::Invalid {
        path: path.into(),
        reason,
    };
    let bootstrap: Bootstrap = Config::builder()
        .add_source(File::from(path).format(FileFormat::Yaml))
        .add_source(environment)
        .build()
        .and_then(Config::try_deserialize)
        .map_err(invalid)?;
    validate(&bootstrap).map_err(|(key, problem)| Error::BadValue {
        path: path.into(),
        key,
        problem,
    })?;
    Ok(bootstrap)
}

/// The rules serde cannot express.
fn validate(conf: &Bootstrap) -> Result<(), (&'static str, String)> {
    let positive = [
        ("server.http.timeout", conf.server.http.timeout.is_zero()),
        ("server.grpc.timeout", conf.server.grpc.timeout.is_zero()),
        (
            "server.http.max_body_bytes",
            conf.server.http.max_body_bytes == 0,
        ),
        (
            "server.grpc.max_message_bytes",
            conf.server.grpc.max_message_bytes == 0,
        ),
    ];
    if let Some((key, _)) = positive.into_iter().find(|(_, is_zero)| *is_zero) {
        return Err((key, "must be greater than 0".into()));
    }
    let ratio = conf.trace.sampling_ratio;
    if !(0.0..=1.0).contains(&ratio) {
        return Err((
            "trace.sampling_ratio",
            format!("must be between 0.0 and 1.0, got {ratio}"),
        ));
    }
    let admin = &conf.server.admin_addr;
    if !admin.is_empty() && admin.parse::<std::net::SocketAddr>().is_err() {
        return Err((
            "server.admin_addr",
            format!("must be empty or host:port, got {admin:?}"),
        ));
    }
    if conf.trace.service_name.trim().is_empty() {
        return Err(("trace.service_name", "must not be empty".into()));
    }
    let endpoint = &conf.trace.endpoint;
    if !endpoint.is_empty() && !endpoint.starts_with("http://") && !endpoint.starts_with("https://")
    {
        return Err((
            "trace.endpoint",
            format!("must be empty or an http(s):// URL, got {endpoint:?}"),
        ));
    }
    if conf.data.database.url.trim().is_empty() {
        return Err(("data.database.url", "must not be empty".into()));
    }
    let database = &conf.data.database;
    if database.max_connections == 0 {
        return Err(("data.database.max_connections", "must be at least 1".into()));
    }
    if database.min_connections > database.max_connections {
        return Err((
            "data.database.min_connections",
            format!(
                "must not exceed max_connections ({}), got {}",
                database.max_connections, database.min_connections
            ),
        ));
    }
    if database.connect_attempts == 0 {
        return Err((
            "data.database.connect_attempts",
            "must be at least 1".into(),
        ));
    }
    if conf.log.level.trim().is_empty() {
        return Err(("log.level", "must not be empty (try `info`)".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    const VALID: &str = "
server:
  shutdown_grace: 5s
  http:
    addr: 0.0.0.0:8000
    timeout: 5s
    max_body_bytes: 4194304
    compression: true
    cors:
      enabled: false
      allowed_origins: []
  grpc:
    addr: 0.0.0.0:9000
    timeout: 5s
    max_message_bytes: 4194304
  admin_addr: ''
  middleware:
    recovery: true
    request_id: true
    access_log: true
    tracing: true
    metrics: true
    concurrency_limit: 0
    rate_limit_per_second: 0
data:
  database:
    url: sqlite://data/app.db
    max_connections: 4
    min_connections: 0
    acquire_timeout: 2s
    idle_timeout: 10m
    statement_timeout: 5s
    connect_attempts: 5
    migrate: true
log:
  level: info
  format: json
  file:
    enabled: true
    dir: logs
    rotation: daily
    max_files: 7
trace:
  service_name: app
  endpoint: ''
  sampling_ratio: 1.0
";

    fn file_with(yaml: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(yaml.as_bytes()).expect("write");
        file
    }

    fn load_err(yaml: &str, prefix: &str) -> String {
        let file = file_with(yaml);
        load(file.path(), prefix)
            .expect_err("must fail")
            .to_string()
    }

    #[test]
    fn loads_every_section() {
        let file = file_with(VALID);
        let conf = load(file.path(), "CONF_TEST_VALID").expect("valid config");

        assert_eq!(
            conf.server.shutdown_grace,
            std::time::Duration::from_secs(5)
        );
        assert_eq!(conf.server.grpc.addr.port(), 9000);
        assert_eq!(conf.data.database.max_connections, 4);
        assert_eq!(conf.log.format, crate::LogFormat::Json);
    }

    #[test]
    fn environment_overrides_the_file() {
        let file = file_with(VALID);
        let env = [(
            "CONF_TEST_ENV__SERVER__HTTP__ADDR".to_owned(),
            "127.0.0.1:18000".to_owned(),
        )];

        let conf = load_with(
            file.path(),
            environment("CONF_TEST_ENV").source(Some(env.into())),
        )
        .expect("valid config");

        assert_eq!(conf.server.http.addr.to_string(), "127.0.0.1:18000");
    }

    #[test]
    fn names_a_missing_file() {
        let err = load(Path::new("nowhere/config.yaml"), "CONF_TEST_MISSING").expect_err("missing");

        assert_eq!(
            err.to_string(),
            "config file nowhere/config.yaml not found (pass another with --conf)"
        );
    }

    #[test]
    fn names_an_unknown_key() {
        let yaml = VALID.replace("shutdown_grace", "shutdown_grase");

        let err = load_err(&yaml, "CONF_TEST_UNKNOWN");

        assert!(err.contains("unknown field `shutdown_grase`"), "{err}");
    }

    #[test]
    fn names_the_key_of_a_bad_value() {
        let yaml = VALID.replace("0.0.0.0:9000", "not-an-address");

        let err = load_err(&yaml, "CONF_TEST_BAD");

        assert!(err.contains("server.grpc.addr"), "{err}");
    }

    #[test]
    fn refuses_an_empty_pool() {
        let yaml = VALID.replace("max_connections: 4", "max_connections: 0");

        let err = load_err(&yaml, "CONF_TEST_POOL");

        assert!(
            err.ends_with("`data.database.max_connections` must be at least 1"),
            "{err}"
        );
    }

    #[test]
    fn refuses_a_sampling_ratio_above_one() {
        let yaml = VALID.replace("sampling_ratio: 1.0", "sampling_ratio: 1.5");

        let err = load_err(&yaml, "CONF_TEST_RATIO");

        assert!(
            err.ends_with("`trace.sampling_ratio` must be between 0.0 and 1.0, got 1.5"),
            "{err}"
        );
    }

    #[test]
    fn refuses_a_zero_timeout() {
        let yaml = VALID.replacen("timeout: 5s", "timeout: 0s", 1);

        let err = load_err(&yaml, "CONF_TEST_TIMEOUT");

        assert!(
            err.ends_with("`server.http.timeout` must be greater than 0"),
            "{err}"
        );
    }

    #[test]
    fn refuses_a_trace_endpoint_that_is_not_a_url() {
        let yaml = VALID.replace("endpoint: ''", "endpoint: localhost:4317");

        let err = load_err(&yaml, "CONF_TEST_ENDPOINT");

        assert!(
            err.contains("`trace.endpoint` must be empty or an http(s):// URL"),
            "{err}"
        );
    }

    #[test]
    fn refuses_an_admin_address_that_is_not_host_port() {
        let yaml = VALID.replace("admin_addr: ''", "admin_addr: nine-thousand");

        let err = load_err(&yaml, "CONF_TEST_ADMIN");

        assert!(
            err.ends_with(r#"`server.admin_addr` must be empty or host:port, got "nine-thousand""#),
            "{err}"
        );
    }

    #[test]
    fn env_prefix_is_the_shouting_crate_name() {
        assert_eq!(env_prefix("hello-svc"), "HELLO_SVC");
    }

    #[test]
    fn debug_output_hides_the_database_url() {
        let file = file_with(&VALID.replace("sqlite://data/app.db", "postgres://u:secret@db/x"));
        let conf = load(file.path(), "CONF_TEST_REDACT").expect("valid config");

        let printed = format!("{:?}", conf.data.database);

        assert!(!printed.contains("secret"), "{printed}");
        assert!(
            printed.contains("postgres://u:<redacted>@db/x"),
            "{printed}"
        );
    }
}
