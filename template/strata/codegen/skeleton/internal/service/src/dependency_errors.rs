//! Dependency failures (the database down or broken), answered alike by every
//! service: the cause goes to the log, the caller gets a status without details.

use tonic::Status;

/// A dependency cannot be reached now: UNAVAILABLE, which clients may retry.
pub(crate) fn unavailable(service: &str, cause: &biz::Cause) -> Status {
    tracing::warn!(error = %cause, service, "storage unavailable");
    Status::unavailable("the database is unavailable; retry later")
}

/// A dependency failed in a way the caller cannot fix: INTERNAL.
pub(crate) fn storage_failed(service: &str, cause: &biz::Cause) -> Status {
    tracing::error!(error = %cause, service, "storage failed");
    Status::internal("internal error")
}
