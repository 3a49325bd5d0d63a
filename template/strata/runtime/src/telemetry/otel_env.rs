//! The OpenTelemetry environment conventions (what the Kubernetes operator and
//! every SDK set): a `trace.*` key that is set wins, an empty one falls back to
//! its variable. Variables the SDK and exporter read themselves
//! (`OTEL_RESOURCE_ATTRIBUTES`, `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_TRACES_SAMPLER`,
//! `OTEL_BSP_*`) are left to them; this resolves the ones a config key shadows.

use crate::config;

/// Where spans go and under which name, once config and environment are combined.
#[derive(Debug, PartialEq)]
pub(super) struct Export {
    /// The OTLP/gRPC collector; `None`: spans are not exported.
    pub endpoint: Option<String>,
    /// `service.name`; `None`: the SDK reads it from `OTEL_SERVICE_NAME` or
    /// `OTEL_RESOURCE_ATTRIBUTES`.
    pub service_name: Option<String>,
}

/// Resolves `trace` against the variables `env` returns (`std::env::var` in the
/// service); `binary` names the spans when nothing else does.
pub(super) fn resolve(
    trace: &config::Trace,
    binary: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Export, String> {
    let env = |name: &str| env(name).filter(|value| !value.trim().is_empty());
    let service_name = if !trace.service_name.is_empty() {
        Some(trace.service_name.clone())
    } else if env("OTEL_SERVICE_NAME").is_some()
        || names_the_service(env("OTEL_RESOURCE_ATTRIBUTES"))
    {
        None
    } else {
        Some(binary.to_owned())
    };
    let disabled = env("OTEL_SDK_DISABLED").is_some_and(|value| value.eq_ignore_ascii_case("true"));
    let endpoint = if disabled {
        None
    } else if !trace.endpoint.is_empty() {
        Some(trace.endpoint.clone())
    } else {
        from_env(&env)?
    };
    if endpoint.is_some() {
        grpc_only(&env)?;
    }
    Ok(Export {
        endpoint,
        service_name,
    })
}

/// The traces endpoint from the environment, checked as `trace.endpoint` is.
fn from_env(env: &impl Fn(&str) -> Option<String>) -> Result<Option<String>, String> {
    for variable in [
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    ] {
        if let Some(endpoint) = env(variable) {
            if !endpoint.starts_with("http://") && !endpoint.starts_with("https://") {
                return Err(format!(
                    "{variable} must be an http(s):// URL, got {endpoint:?}"
                ));
            }
            return Ok(Some(endpoint));
        }
    }
    Ok(None)
}

/// The exporter speaks OTLP over gRPC only: an HTTP protocol asked for would send
/// gRPC to an HTTP port (usually 4318) and lose every span, so it is refused.
fn grpc_only(env: &impl Fn(&str) -> Option<String>) -> Result<(), String> {
    for variable in [
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
    ] {
        if let Some(protocol) = env(variable) {
            if protocol != "grpc" {
                return Err(format!(
                    "{variable}={protocol:?}: spans are exported over OTLP/gRPC only; \
                     set it to \"grpc\" (collector port 4317) or unset it"
                ));
            }
            return Ok(());
        }
    }
    Ok(())
}

/// Whether `OTEL_RESOURCE_ATTRIBUTES` (`key=value,...`) sets `service.name`.
fn names_the_service(attributes: Option<String>) -> bool {
    attributes.is_some_and(|attributes| {
        attributes.split(',').any(|pair| {
            pair.split_once('=').is_some_and(|(key, value)| {
                key.trim() == "service.name" && !value.trim().is_empty()
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(service_name: &str, endpoint: &str) -> config::Trace {
        config::Trace {
            service_name: service_name.to_owned(),
            endpoint: endpoint.to_owned(),
            sampling_ratio: None,
        }
    }

    fn resolve_with(trace: &config::Trace, vars: &[(&str, &str)]) -> Result<Export, String> {
        resolve(trace, "hello-svc", |name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn empty_keys_and_no_variables_export_nothing_under_the_binarys_name() {
        let export = resolve_with(&trace("", ""), &[]).expect("resolves");

        assert_eq!(
            export,
            Export {
                endpoint: None,
                service_name: Some("hello-svc".to_owned())
            }
        );
    }

    #[test]
    fn the_traces_endpoint_variable_wins_over_the_general_one() {
        let vars = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://general:4317"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:4317"),
        ];

        let export = resolve_with(&trace("", ""), &vars).expect("resolves");

        assert_eq!(export.endpoint.as_deref(), Some("http://traces:4317"));
        let general = resolve_with(&trace("", ""), &vars[..1]).expect("resolves");
        assert_eq!(general.endpoint.as_deref(), Some("http://general:4317"));
    }

    #[test]
    fn keys_that_are_set_win_over_the_variables() {
        let vars = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://from-env:4317"),
            ("OTEL_SERVICE_NAME", "from-env"),
        ];

        let export = resolve_with(&trace("orders", "http://jaeger:4317"), &vars).expect("resolves");

        assert_eq!(export.endpoint.as_deref(), Some("http://jaeger:4317"));
        assert_eq!(export.service_name.as_deref(), Some("orders"));
    }

    #[test]
    fn a_service_name_from_the_environment_is_left_to_the_sdk() {
        let named = resolve_with(&trace("", ""), &[("OTEL_SERVICE_NAME", "from-env")]);
        let attributed = resolve_with(
            &trace("", ""),
            &[(
                "OTEL_RESOURCE_ATTRIBUTES",
                "team=payments, service.name=billing",
            )],
        );
        let other_attributes = resolve_with(
            &trace("", ""),
            &[("OTEL_RESOURCE_ATTRIBUTES", "team=payments")],
        );

        assert_eq!(named.expect("resolves").service_name, None);
        assert_eq!(attributed.expect("resolves").service_name, None);
        assert_eq!(
            other_attributes.expect("resolves").service_name.as_deref(),
            Some("hello-svc")
        );
    }

    #[test]
    fn sdk_disabled_exports_nothing_whatever_else_says() {
        let vars = [
            ("OTEL_SDK_DISABLED", "TRUE"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://from-env:4317"),
        ];

        let export = resolve_with(&trace("", "http://jaeger:4317"), &vars).expect("resolves");

        assert_eq!(export.endpoint, None);
        let not_disabled = resolve_with(&trace("", ""), &[("OTEL_SDK_DISABLED", "false")]);
        assert_eq!(not_disabled.expect("resolves").endpoint, None);
    }

    #[test]
    fn refuses_an_endpoint_variable_that_is_not_a_url() {
        let err = resolve_with(
            &trace("", ""),
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "jaeger:4317")],
        )
        .expect_err("refused");

        assert_eq!(
            err,
            r#"OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s):// URL, got "jaeger:4317""#
        );
    }

    #[test]
    fn refuses_an_http_protocol_only_when_exporting() {
        let http = [("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")];

        let err = resolve_with(&trace("", "http://jaeger:4318"), &http).expect_err("refused");

        assert!(
            err.starts_with(r#"OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf": spans are exported over OTLP/gRPC only"#),
            "{err}"
        );
        assert!(resolve_with(&trace("", ""), &http).is_ok());
        let grpc = [("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc")];
        assert!(resolve_with(&trace("", "http://jaeger:4317"), &grpc).is_ok());
    }
}
