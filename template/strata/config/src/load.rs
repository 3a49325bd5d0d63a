use std::path::{Path, PathBuf};

use config::Environment;

use crate::Config;
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
        key: String,
        problem: String,
    },
}

/// Where the configuration comes from; later sources win.
#[derive(Debug, Clone, Default)]
pub struct Sources {
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

impl Sources {
    /// `conf` (file or directory), then the `<env_prefix>__SECTION__KEY`
    /// environment variables.
    pub fn new(conf: impl AsRef<Path>, env_prefix: &str) -> Self {
        Self {
            conf: conf.as_ref().to_owned(),
            env_prefix: env_prefix.to_owned(),
            ..Self::default()
        }
    }
}

/// The prefix of the environment variables that override the file for the service
/// `name`: `hello-svc` reads `HELLO_SVC__SERVER__HTTP__ADDR` for `server.http.addr`.
pub fn env_prefix(name: &str) -> String {
    name.replace('-', "_").to_uppercase()
}

/// Loads every source, refuses unknown keys naming their source, and validates the
/// result with [`Config::validate`].
pub fn load<C: Config>(sources: &Sources) -> Result<C, Error> {
    load_with(sources, environment(&sources.env_prefix))
}

fn load_with<C: Config>(options: &Sources, env: Environment) -> Result<C, Error> {
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
    let conf: C = merged
        .clone()
        .try_deserialize()
        .map_err(|reason| explain::<C>(&sources, &merged, reason))?;
    conf.validate().map_err(|invalid| Error::BadValue {
        origin: last_setter(&sources, &invalid.key),
        key: invalid.key,
        problem: invalid.problem,
    })?;
    Ok(conf)
}

/// A deserialization error, blamed on the source that set the key it is about:
/// `unknown field `adr` ... for key `server.http`` becomes
/// "config file x.yaml: unknown key `server.http.adr`".
fn explain<C: Config>(
    sources: &[Source],
    merged: &config::Config,
    reason: config::ConfigError,
) -> Error {
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
        reason: format!("{reason}{}", shown_value::<C>(merged, &key)),
    }
}

/// ` (got "x")` for the value at `key`, so the message shows what was wrong; a
/// secret shows as [`Config::redact`] says. Empty when there is none.
fn shown_value<C: Config>(merged: &config::Config, key: &str) -> String {
    let Ok(value) = merged.get_string(key) else {
        return String::new();
    };
    let value = C::redact(key, &value).unwrap_or(value);
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

/// The effective configuration as JSON (which is YAML too), secrets redacted by
/// [`Config::redact`]: what `--print-config` shows.
pub fn redacted<C: Config>(conf: &C) -> String {
    let mut value = serde_json::to_value(conf).unwrap_or_default();
    redact_strings::<C>("", &mut value);
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

/// Replaces every string leaf the schema calls secret.
fn redact_strings<C: Config>(path: &str, value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(fields) => {
            for (name, field) in fields {
                let path = if path.is_empty() {
                    name.clone()
                } else {
                    format!("{path}.{name}")
                };
                redact_strings::<C>(&path, field);
            }
        }
        serde_json::Value::String(text) => {
            if let Some(shown) = C::redact(path, text) {
                *text = shown;
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::time::Duration;

    use super::*;
    use crate::{Invalid, Log, Server, Trace};

    /// A service schema like the sample's: the framework's sections and its own.
    #[derive(Debug, serde::Deserialize, serde::Serialize)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        server: Server,
        data: Data,
        log: Log,
        trace: Trace,
    }

    #[derive(Debug, serde::Deserialize, serde::Serialize)]
    #[serde(deny_unknown_fields)]
    struct Data {
        database: Database,
    }

    #[derive(Debug, serde::Deserialize, serde::Serialize)]
    #[serde(deny_unknown_fields)]
    struct Database {
        url: String,
        max_connections: u32,
    }

    impl Config for Sample {
        fn validate(&self) -> Result<(), Invalid> {
            self.server.validate("server")?;
            self.log.validate("log")?;
            self.trace.validate("trace")?;
            if self.data.database.max_connections == 0 {
                return Err(Invalid::new(
                    "data.database.max_connections",
                    "must be at least 1",
                ));
            }
            Ok(())
        }

        fn redact(key: &str, _value: &str) -> Option<String> {
            (key == "data.database.url").then(|| "<redacted>".to_owned())
        }
    }

    fn load_sample(path: &Path, prefix: &str) -> Result<Sample, Error> {
        load(&Sources::new(path, prefix))
    }

    fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).expect("write");
        }
        dir
    }

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
        load_sample(file.path(), prefix)
            .expect_err("must fail")
            .to_string()
    }

    #[test]
    fn loads_every_section() {
        let file = file_with(VALID);
        let conf = load_sample(file.path(), "CONF_TEST_VALID").expect("valid config");

        assert_eq!(conf.server.shutdown_grace, Duration::from_secs(5));
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

        let options = Sources {
            conf: file.path().to_owned(),
            ..Sources::default()
        };

        let conf: Sample = load_with(
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
        let options = Sources {
            conf: file.path().to_owned(),
            env_prefix: "CONF_TEST_ENVBAD".into(),
            ..Sources::default()
        };

        let err = load_with::<Sample>(
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
        let err = load_sample(Path::new("nowhere/config.yaml"), "CONF_TEST_MISSING")
            .expect_err("missing");

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
    fn an_absent_sampling_ratio_and_empty_trace_keys_leave_it_to_otel_variables() {
        let yaml = VALID
            .replace("  sampling_ratio: 1.0\n", "")
            .replace("service_name: app", "service_name: ''");
        let file = file_with(&yaml);

        let sample = load_sample(file.path(), "CONF_TEST_OTEL").expect("loads");

        assert_eq!(sample.trace.sampling_ratio, None);
        assert_eq!(sample.trace.service_name, "");
    }

    #[test]
    fn refuses_a_blank_service_name() {
        let yaml = VALID.replace("service_name: app", "service_name: '  '");

        let err = load_err(&yaml, "CONF_TEST_BLANK_NAME");

        assert!(err.contains("`trace.service_name` must be a name"), "{err}");
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
    fn refuses_a_grpc_stream_limit_of_zero() {
        let yaml = VALID.replace(
            "max_message_bytes: 4194304\n",
            "max_message_bytes: 4194304\n    max_concurrent_streams: 0\n",
        );

        let err = load_err(&yaml, "CONF_TEST_STREAMS");

        assert!(
            err.ends_with("`server.grpc.max_concurrent_streams` must be greater than 0"),
            "{err}"
        );
    }

    #[test]
    fn refuses_a_header_limit_of_zero() {
        let yaml = VALID.replace(
            "admin_addr: ''\n",
            "admin_addr: ''\n  max_header_bytes: 0\n",
        );

        let err = load_err(&yaml, "CONF_TEST_HEADERS");

        assert!(
            err.ends_with("`server.max_header_bytes` must be greater than 0"),
            "{err}"
        );
    }

    #[test]
    fn connection_bounds_added_after_0_1_0_have_defaults() {
        let file = file_with(VALID);

        let sample = load_sample(file.path(), "CONF_TEST_DEFAULTS").expect("a 0.1.0 config loads");

        let server = &sample.server;
        assert_eq!(server.grpc.max_concurrent_streams, 200);
        assert_eq!(server.max_header_bytes, 64 * 1024);
        assert!(server.grpc.reflection);
        assert_eq!(server.grpc.preface_timeout, Duration::from_secs(10));
        assert_eq!(
            (server.keepalive_interval, server.keepalive_timeout),
            (Duration::from_secs(30), Duration::from_secs(10))
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

        let err = load_sample(file.path(), "CONF_TEST_PLACEHOLDER")
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

        let conf = load::<Sample>(&Sources {
            conf: dir.path().join("config.yaml"),
            env: Some("prod".into()),
            env_prefix: "CONF_TEST_ENVFILE".into(),
            ..Sources::default()
        })
        .expect("merged");

        assert_eq!(conf.log.level, "warn");
        assert_eq!(conf.log.format, crate::LogFormat::Json, "the rest stays");
    }

    #[test]
    fn an_absent_environment_file_is_skipped() {
        let dir = dir_with(&[("config.yaml", VALID)]);

        let conf = load::<Sample>(&Sources {
            conf: dir.path().join("config.yaml"),
            env: Some("staging".into()),
            env_prefix: "CONF_TEST_NOENV".into(),
            ..Sources::default()
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

        let err = load::<Sample>(&Sources {
            conf: dir.path().join("config.yaml"),
            env: Some("prod".into()),
            env_prefix: "CONF_TEST_BLAME".into(),
            ..Sources::default()
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

        let conf = load_sample(dir.path(), "CONF_TEST_DIR").expect("merged directory");

        assert_eq!(conf.server.http.addr.to_string(), "127.0.0.1:18080");
    }

    #[test]
    fn set_flags_win_over_everything() {
        let file = file_with(VALID);

        let conf = load::<Sample>(&Sources {
            conf: file.path().to_owned(),
            env_prefix: "CONF_TEST_SET".into(),
            overrides: vec!["log.level=debug".into(), "server.http.timeout=9s".into()],
            ..Sources::default()
        })
        .expect("overridden");

        assert_eq!(conf.log.level, "debug");
        assert_eq!(conf.server.http.timeout, std::time::Duration::from_secs(9));
    }

    #[test]
    fn refuses_a_set_flag_without_a_value_and_an_unknown_one() {
        let file = file_with(VALID);
        let with = |pair: &str| {
            load::<Sample>(&Sources {
                conf: file.path().to_owned(),
                env_prefix: "CONF_TEST_BADSET".into(),
                overrides: vec![pair.into()],
                ..Sources::default()
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
        let conf = load_sample(file.path(), "CONF_TEST_PRINT").expect("valid");

        let printed = redacted(&conf);

        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("\"url\": \"<redacted>\""), "{printed}");
        assert!(printed.contains("\"shutdown_grace\": \"5s\""), "{printed}");
    }
}
