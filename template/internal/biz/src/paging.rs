//! What every listing use case shares: page sizes, page tokens and the clock.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::{Error, Result};

/// Items in a page when the caller does not say how many.
pub const DEFAULT_PAGE_SIZE: usize = 20;
/// The most items a page holds (the protos refuse a larger `page_size`; a caller
/// inside the service asking for more gets this many).
pub const MAX_PAGE_SIZE: usize = 100;

/// How many items a page of `page_size` holds: 0 or less means
/// [`DEFAULT_PAGE_SIZE`], more than [`MAX_PAGE_SIZE`] means that many.
pub(crate) fn limit(page_size: i32) -> usize {
    match usize::try_from(page_size) {
        Ok(0) | Err(_) => DEFAULT_PAGE_SIZE,
        Ok(size) => size.min(MAX_PAGE_SIZE),
    }
}

/// The id a page starts after: a page token is the last id (a UUID) of the page
/// before; empty for the first page.
pub(crate) fn start(page_token: &str) -> Result<Option<String>> {
    if page_token.is_empty() {
        return Ok(None);
    }
    let last_id = uuid::Uuid::try_parse(page_token).map_err(|_| {
        Error::invalid_argument(
            "page_token",
            "page_token must be the next_page_token of an earlier page",
        )
    })?;
    Ok(Some(last_id.to_string()))
}

/// Now, to the microsecond: what every supported database keeps, so a value read
/// back equals the value written.
pub(crate) fn now() -> SystemTime {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    UNIX_EPOCH + Duration::new(since_epoch.as_secs(), since_epoch.subsec_micros() * 1_000)
}

/// `now`, or a microsecond after `previous` if that is later: an update time
/// strictly after the last, even when the clock steps back.
pub(crate) fn later(now: SystemTime, previous: SystemTime) -> SystemTime {
    now.max(previous + Duration::from_micros(1))
}
