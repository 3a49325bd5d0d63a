use std::path::{Path, PathBuf};

use config::Environment;

use crate::Bootstrap;
use crate::sources::{
    Source, builder, config_files, env_file, environment, keys_of, read_yaml, yaml,
};

/// Why the configuration could not be loaded. Each message names what to fix and
/// where it came from.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("config file {path} not found (pass another with --conf)")]
    NotFound { path: PathBuf },
    #[error("config file {path}: {reason}")]
    Read {
        path: PathBuf,
        reason: std::io::Error,
    },
    #[error("config file {path}: {problem}")]
    Placeholder { path: PathBuf, problem: String },
    #[error("--set {0:?}: expected key=value, e.g. --set log.level=debug")]
    BadOverride(String),
    // The config error is in the message, not a `#[source]`: one line says it all.
    #[error("config {origin}: {reason}")]
    Invalid {
        origin: String,
        /// The config crate's message, plus ` (got "...")` when there is a value.
        reason: String,
    },
    #[error("config {origin}: unknown key `{key}`")]
    UnknownKey { origin: String, key: String },
    #[error("config {origin}: `{key}` {problem}")]
    BadValue {
        origin: String,
        key: &'static str,
        problem: String,
    },
}

/// Where the configuration comes from; later sources win.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A YAML file, or a directory whose YAML files are merged in name order.
    pub conf: PathBuf,
    /// Merges `config.<env>.yaml` from beside `conf` when it exists (from `--env`
    /// or `APP_ENV`).
    pub env: Option<String>,
    /// `<PREFIX>__SECTION__KEY` environment variables override the files.
    pub env_prefix: String,
    /// `key=value` pairs (`--set`) override everything.
    pub overrides: Vec<String>,
}

/// The prefix of the environment variables that override the file for the service
/// `name`: `hello-svc` reads `HELLO_SVC__SERVER__HTTP__ADDR` for `server.http.addr`.
pub fn env_prefix(name: &str) -> String {
    name.replace('-', "_").to_uppercase()
}

/// Loads `path` (file or directory), then the `<env_prefix>__SECTION__KEY`
/// environment variables.
pub fn load(path: &Path, env_prefix: &str) -> Result<Bootstrap, Error> {
    load_from(&Options {
        conf: path.to_owned(),
        env_prefix: env_prefix.to_owned(),
        ..Options::default()
    })
}

/// Loads every source of `options`, refuses unknown keys naming their source, and
/// validates the result.
pub fn load_from(options: &Options) -> Result<Bootstrap, Error> {
    load_with(options, environment(&options.env_prefix))
}

fn load_with(options: &Options, env: Environment) -> Result<Bootstrap, Error> {
    let mut files = config_files(&options.conf)?;
    // The environment file is optional: `APP_ENV=prod` needs no config.prod.yaml.
    if let Some(path) = options
        .env
        .as_deref()
        .map(|name| env_file(&options.conf, name))
        .filter(|path| path.is_file())
    {
        files.push(path);
    }

    let mut sources = Vec::new();
    let mut merged = builder();
    for file in &files {
        let text = read_yaml(file)?;
        sources.push(keys_of(
            format!("file {}", file.display()),
            builder().add_source(yaml(&text)),
        )?);
        merged = merged.add_source(yaml(&text));
    }
    let mut environment_keys = keys_of("environment".into(), builder().add_source(env.clone()))?;
    environment_keys.env_prefix = Some(options.env_prefix.clone());
    sources.push(environment_keys);
    merged = merged.add_source(env);
    let mut overrides = builder();
    for pair in &options.overrides {
        let (key, value) = pair
            .split_once('=')
            .filter(|(key, _)| !key.is_empty())
            .ok_or_else(|| Error::BadOverride(pair.clone()))?;
        let set = |builder: config::ConfigBuilder<_>| {
            builder
                .set_override(key, value)
                .map_err(|reason| Error::Invalid {
                    origin: "--set".into(),
                    reason: reason.to_string(),
                })
        };
        overrides = set(overrides)?;
        merged = set(merged)?;
    }
    sources.push(keys_of("--set".into(), overrides)?);

    let merged = merged.build().map_err(|reason| Error::Invalid {
        origin: last_setter(&sources, ""),
        reason: reason.to_string(),
    })?;
    let bootstrap: Bootstrap = merged
        .clone()
        .try_deserialize()
        .map_err(|reason| explain(&sources, &merged, reason))?;
    validate(&bootstrap).map_err(|(key, problem)| Error::BadValue {
        origin: last_setter(&sources, key),
        key,
        problem,
    })?;
    Ok(bootstrap)
}

/// A deserialization error, blamed on the source that set the key it is about:
/// `unknown field `adr` ... for key `server.http`` becomes
/// "config file x.yaml: unknown key `server.http.adr`".
fn explain(sources: &[Source], merged: &config::Config, reason: config::ConfigError) -> Error {
    let message = reason.to_string();
    let quoted_after = |marker: &str| {
        message
            .split_once(marker)
            .and_then(|(_, rest)| rest.split_once('`'))
            .map(|(quoted, _)| quoted.to_owned())
    };
    let parent = quoted_after("for key `");
    if let Some(field) = quoted_after("unknown field `") {
        let key = match parent {
            Some(parent) => format!("{parent}.{field}"),
            None => field,
        };
        return Error::UnknownKey {
            origin: last_setter(sources, &key),
            key,
        };
    }
    let key = parent.unwrap_or_default();
    Error::Invalid {
        origin: last_setter(sources, &key),
        reason: format!("{reason}{}", shown_value(merged, &key)),
    }
}

/// ` (got "x")` for the value at `key`, so the message shows what was wrong;
/// the database URL shows with its password redacted. Empty when there is none.
fn shown_value(merged: &config::Config, key: &str) -> String {
    let Ok(value) = merged.get_string(key) else {
        return String::new();
    };
    let value = if key == "data.database.url" {
        crate::bootstrap::redact_url(&value)
    } else {
        value
    };
    format!(" (got {value:?})")
}

/// The last source that sets `key` (or, for a missing key, the first file).
fn last_setter(sources: &[Source], key: &str) -> String {
    sources
        .iter()
        .rev()
        .find(|source| source.keys.contains(key))
        .or_else(|| sources.first())
        .map(|source| source.describe(key))
        .unwrap_or_default()
}

/// The effective configuration as JSON (which is YAML too), secrets redacted: what
/// `--print-config` shows.
pub fn redacted(conf: &Bootstrap) -> String {
    let mut value = serde_json::to_value(conf).unwrap_or_default();
    if let Some(url) = value.pointer_mut("/data/database/url") {
        *url = serde_json::Value::String(conf.data.database.redacted_url());
    }
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

/// The rules serde cannot express.
fn validate(conf: &Bootstrap) -> Result<(), (&'static str, String)> {
    let positive = [
        ("server.http.timeout", conf.server.http.timeout.is_zero()),
        ("server.grpc.timeout", conf.server.grpc.timeout.is_zero()),
        (
            "server.http.header_read_timeout",
            conf.server.http.header_read_timeout.is_zero(),
        ),
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
    let schemes = [
        "sqlite:",
        "postgres://",
        "postgresql://",
        "mysql://",
        "mariadb://",
    ];
    if !schemes
        .iter()
        .any(|scheme| database.url.starts_with(scheme))
    {
        return Err((
            "data.database.url",
            format!(
                "must start with sqlite:, postgres:// or mysql://, got {:?}",
                database.redacted_url()
            ),
        ));
    }
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
    header_read_timeout: 10s
    max_body_bytes: 4194304
    compression: true
    default_routes: true
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

        let options = Options {
            conf: file.path().to_owned(),
            ..Options::default()
        };

        let conf = load_with(
            &options,
            environment("CONF_TEST_ENV").source(Some(env.into())),
        )
        .expect("valid config");

        assert_eq!(conf.server.http.addr.to_string(), "127.0.0.1:18000");
    }

    #[test]
    fn names_the_environment_variable_of_a_bad_value() {
        let file = file_with(VALID);
        let env = [(
            "CONF_TEST_ENVBAD__SERVER__GRPC__TIMEOUT".to_owned(),
            "soon".to_owned(),
        )];
        let options = Options {
            conf: file.path().to_owned(),
            env_prefix: "CONF_TEST_ENVBAD".into(),
            ..Options::default()
        };

        let err = load_with(
            &options,
            environment("CONF_TEST_ENVBAD").source(Some(env.into())),
        )
        .expect_err("bad duration")
        .to_string();

        assert!(
            err.starts_with(
                "config environment variable CONF_TEST_ENVBAD__SERVER__GRPC__TIMEOUT: "
            ),
            "{err}"
        );
        assert!(err.contains("server.grpc.timeout"), "{err}");
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

        assert!(
            err.ends_with("unknown key `server.shutdown_grase`"),
            "{err}"
        );
        assert!(err.starts_with("config file "), "{err}");
    }

    #[test]
    fn names_the_key_of_a_bad_value() {
        let yaml = VALID.replace("0.0.0.0:9000", "not-an-address");

        let err = load_err(&yaml, "CONF_TEST_BAD");

        assert!(err.contains("server.grpc.addr"), "{err}");
        assert!(err.ends_with(r#"(got "not-an-address")"#), "{err}");
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

    fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).expect("write");
        }
        dir
    }

    #[test]
    fn resolves_placeholders_with_and_without_defaults() {
        let lookup = |name: &str| (name == "DB_HOST").then(|| "db.internal".to_owned());

        let resolved = crate::sources::resolve_placeholders(
            "url: postgres://${DB_HOST}:${DB_PORT:5432}/app",
            lookup,
        );

        assert_eq!(
            resolved.as_deref(),
            Ok("url: postgres://db.internal:5432/app")
        );
    }

    #[test]
    fn names_an_unset_placeholder_and_its_file() {
        let yaml = VALID.replace("level: info", "level: ${CONF_TEST_SURELY_UNSET_LEVEL}");
        let file = file_with(&yaml);

        let err = load(file.path(), "CONF_TEST_PLACEHOLDER")
            .expect_err("unset")
            .to_string();

        assert!(
            err.starts_with(&format!("config file {}: ", file.path().display())),
            "{err}"
        );
        assert!(
            err.ends_with(
                "${CONF_TEST_SURELY_UNSET_LEVEL} is not set (give a default: ${CONF_TEST_SURELY_UNSET_LEVEL:value})"
            ),
            "{err}"
        );
    }

    #[test]
    fn merges_the_environment_file_over_the_base() {
        let dir = dir_with(&[
            ("config.yaml", VALID),
            ("config.prod.yaml", "log:\n  level: warn\n"),
        ]);

        let conf = load_from(&Options {
            conf: dir.path().join("config.yaml"),
            env: Some("prod".into()),
            env_prefix: "CONF_TEST_ENVFILE".into(),
            ..Options::default()
        })
        .expect("merged");

        assert_eq!(conf.log.level, "warn");
        assert_eq!(conf.log.format, crate::LogFormat::Json, "the rest stays");
    }

    #[test]
    fn an_absent_environment_file_is_skipped() {
        let dir = dir_with(&[("config.yaml", VALID)]);

        let conf = load_from(&Options {
            conf: dir.path().join("config.yaml"),
            env: Some("staging".into()),
            env_prefix: "CONF_TEST_NOENV".into(),
            ..Options::default()
        })
        .expect("no config.staging.yaml is fine");

        assert_eq!(conf.log.level, "info");
    }

    #[test]
    fn blames_an_unknown_key_on_the_file_that_has_it() {
        let dir = dir_with(&[
            ("config.yaml", VALID),
            ("config.prod.yaml", "log:\n  levle: warn\n"),
        ]);

        let err = load_from(&Options {
            conf: dir.path().join("config.yaml"),
            env: Some("prod".into()),
            env_prefix: "CONF_TEST_BLAME".into(),
            ..Options::default()
        })
        .expect_err("typo")
        .to_string();

        assert_eq!(
            err,
            format!(
                "config file {}: unknown key `log.levle`",
                dir.path().join("config.prod.yaml").display()
            )
        );
    }

    #[test]
    fn merges_every_yaml_file_of_a_directory_in_name_order() {
        let dir = dir_with(&[
            ("10-base.yaml", VALID),
            (
                "20-local.yml",
                "server:\n  http:\n    addr: 127.0.0.1:18080\n",
            ),
            ("notes.txt", "not config"),
        ]);

        let conf = load(dir.path(), "CONF_TEST_DIR").expect("merged directory");

        assert_eq!(conf.server.http.addr.to_string(), "127.0.0.1:18080");
    }

    #[test]
    fn set_flags_win_over_everything() {
        let file = file_with(VALID);

        let conf = load_from(&Options {
            conf: file.path().to_owned(),
            env_prefix: "CONF_TEST_SET".into(),
            overrides: vec!["log.level=debug".into(), "server.http.timeout=9s".into()],
            ..Options::default()
        })
        .expect("overridden");

        assert_eq!(conf.log.level, "debug");
        assert_eq!(conf.server.http.timeout, std::time::Duration::from_secs(9));
    }

    #[test]
    fn refuses_a_set_flag_without_a_value_and_an_unknown_one() {
        let file = file_with(VALID);
        let with = |pair: &str| {
            load_from(&Options {
                conf: file.path().to_owned(),
                env_prefix: "CONF_TEST_BADSET".into(),
                overrides: vec![pair.into()],
                ..Options::default()
            })
            .expect_err("refused")
            .to_string()
        };

        assert_eq!(
            with("log.level"),
            r#"--set "log.level": expected key=value, e.g. --set log.level=debug"#
        );
        assert_eq!(
            with("log.colour=red"),
            "config --set: unknown key `log.colour`"
        );
    }

    #[test]
    fn the_printed_config_hides_the_database_password() {
        let file =
            file_with(&VALID.replace("sqlite://data/app.db", "postgres://app:hunter2@db/app"));
        let conf = load(file.path(), "CONF_TEST_PRINT").expect("valid");

        let printed = redacted(&conf);

        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(
            printed.contains("postgres://app:<redacted>@db/app"),
            "{printed}"
        );
        assert!(printed.contains("\"shutdown_grace\": \"5s\""), "{printed}");
    }

    #[test]
    fn names_a_database_url_it_cannot_use_without_its_password() {
        let yaml = VALID.replace("sqlite://data/app.db", "postgress://app:hunter2@db/app");

        let err = load_err(&yaml, "CONF_TEST_URL");

        assert!(
            err.ends_with(
                r#"`data.database.url` must start with sqlite:, postgres:// or mysql://, got "postgress://app:<redacted>@db/app""#
            ),
            "{err}"
        );
    }
}
