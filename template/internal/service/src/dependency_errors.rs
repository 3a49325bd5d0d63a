//! Dependency failures (the database down or broken), answered alike by every
//! service: the cause goes to the log, the caller gets a status without details.

use tonic::Status;

/// A dependency cannot be reached now: UNAVAILABLE, which clients may retry.
/// A call to another service that strata's client refused itself (its circuit
/// breaker open, the caller's deadline spent) says so: that reason names no
/// address and tells the caller why it failed fast.
pub(crate) fn unavailable(service: &str, cause: &biz::Cause) -> Status {
    if let Some(upstream) = cause.downcast_ref::<Status>() {
        tracing::warn!(error = %upstream.message(), service, "upstream unavailable");
        let refusal = strata::Error::from_status(upstream);
        if refusal.domain() == strata::client::DOMAIN {
            return refusal.to_status();
        }
        return Status::unavailable("an upstream service is unavailable; retry later");
    }
    tracing::warn!(error = %cause, service, "storage unavailable");
    Status::unavailable("the database is unavailable; retry later")
}

/// A dependency failed in a way the caller cannot fix: INTERNAL.
pub(crate) fn storage_failed(service: &str, cause: &biz::Cause) -> Status {
    tracing::error!(error = %cause, service, "storage failed");
    Status::internal("internal error")
}
