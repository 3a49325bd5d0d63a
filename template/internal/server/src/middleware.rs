use std::time::Duration;

use strata::middleware::{HttpOptions, Options};

/// The platform middleware options for a transport with `timeout`.
pub(crate) fn options(conf: &conf::Middleware, timeout: Duration) -> Options {
    Options {
        request_id: conf.request_id,
        access_log: conf.access_log,
        tracing: conf.tracing,
        metrics: conf.metrics,
        recovery: conf.recovery,
        timeout,
        concurrency_limit: conf.concurrency_limit,
        rate_limit_per_second: conf.rate_limit_per_second,
    }
}

/// The HTTP-only options.
pub(crate) fn http_options(conf: &conf::Http) -> HttpOptions {
    HttpOptions {
        max_body_bytes: conf.max_body_bytes,
        compression: conf.compression,
        cors_allowed_origins: conf.cors.enabled.then(|| conf.cors.allowed_origins.clone()),
    }
}
