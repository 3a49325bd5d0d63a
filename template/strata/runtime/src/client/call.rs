//! What a gRPC call and an HTTP call to an upstream share: the admission
//! (deadline, then breaker), what counts as the upstream failing, and what is
//! recorded once the call's code is known.

use std::time::{Duration, Instant};

use tonic::Code;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::random;
use super::upstreams::Upstream;
use crate::error::code_name;
use crate::middleware::deadline;

/// The error domain of the refusals this client makes itself.
pub const DOMAIN: &str = "strata.client";
/// The reason of a call the circuit breaker refused without sending it.
pub const CIRCUIT_OPEN: &str = "UPSTREAM_CIRCUIT_OPEN";
/// The reason of a call not sent because the caller's deadline had passed.
pub const DEADLINE_SPENT: &str = "UPSTREAM_DEADLINE_SPENT";

/// The time a call may take: the smaller of the upstream's `timeout` and what
/// is left of the current request's deadline.
#[derive(Debug, Clone, Copy)]
pub(super) struct Budget {
    /// When the call must be over, attempts and backoff included.
    pub(super) deadline: Instant,
    /// How long that was when the call began.
    pub(super) length: Duration,
}

/// Lets a call go, or refuses it without a call: when the caller's deadline
/// has passed (DEADLINE_EXCEEDED), or the breaker refuses it (UNAVAILABLE).
pub(super) fn admit(upstream: &Upstream) -> Result<Budget, crate::Error> {
    let now = Instant::now();
    let length = match deadline() {
        Some(deadline) => deadline
            .saturating_duration_since(now)
            .min(upstream.settings.timeout),
        None => upstream.settings.timeout,
    };
    if length.is_zero() {
        return Err(refusal(
            504,
            DEADLINE_SPENT,
            format!(
                "not calling {}: the caller's deadline has passed",
                upstream.name
            ),
            &upstream.name,
        ));
    }
    upstream.throttle.allow(now, random::unit()).map_err(|refused| {
        refusal(
            503,
            CIRCUIT_OPEN,
            format!(
                "not calling {}: its circuit breaker is open ({:.0}% of its recent calls failed)",
                upstream.name,
                refused.failed * 100.0
            ),
            &upstream.name,
        )
    })?;
    Ok(Budget {
        deadline: now + length,
        length,
    })
}

/// A refusal this client makes itself, with its reason in an ErrorInfo.
fn refusal(http: u16, reason: &str, message: String, upstream: &str) -> crate::Error {
    crate::Error::new(http, reason, message)
        .with_domain(DOMAIN)
        .with_metadata("upstream", upstream)
}

/// The outcomes that count against an upstream in its breaker: it is down,
/// overloaded or broken, not the caller's mistake.
pub(super) fn is_failure(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable
            | Code::DeadlineExceeded
            | Code::Internal
            | Code::Unknown
            | Code::DataLoss
    )
}

/// Records a call whose code is now known: counts it, marks its span failed
/// unless OK, logs its access line. `status` is an HTTP call's response status.
pub(super) fn finished(
    upstream: &Upstream,
    operation: &str,
    started: Instant,
    span: &tracing::Span,
    code: Code,
    status: Option<u16>,
) {
    let elapsed = started.elapsed();
    upstream
        .metrics
        .call_finished(&upstream.name, operation, code_name(code), elapsed);
    if code != Code::Ok {
        span.set_status(opentelemetry::trace::Status::error(code_name(code)));
    }
    span.in_scope(|| {
        tracing::debug!(
            upstream = %upstream.name,
            operation,
            code = code_name(code),
            status,
            latency_ms = crate::telemetry::latency_ms(elapsed),
            "client access"
        );
    });
}

/// An error and its sources: "transport error: tcp connect error: Connection refused".
pub(super) fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_server_side_failures_count_against_the_upstream() {
        assert!(is_failure(Code::Unavailable));
        assert!(is_failure(Code::DeadlineExceeded));
        assert!(!is_failure(Code::InvalidArgument));
        assert!(!is_failure(Code::NotFound));
        assert!(!is_failure(Code::Ok));
    }
}
