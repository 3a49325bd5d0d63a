//! The W3C trace context of a request when no collector is configured: the
//! caller's `traceparent` continued (or a new trace started) by the middleware
//! itself, with no OpenTelemetry SDK. Log lines still carry trace and span ids,
//! and outbound calls still carry `traceparent`, so the next service that does
//! export spans continues the same trace. With a collector, the OpenTelemetry
//! layer makes the ids instead (telemetry.rs).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::random;

/// Whether the middleware makes the ids (no collector), the default until
/// `telemetry::init` says otherwise.
static LOCAL: AtomicBool = AtomicBool::new(true);
/// The W3C header a caller's trace comes in, as a `HeaderName`: looked up
/// without the parse and validation a `&str` name goes through on every call.
static TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
/// The share of new traces marked sampled, as `f64` bits (1.0 by default).
static SAMPLED_SHARE: AtomicU64 = AtomicU64::new(0x3FF0_0000_0000_0000);

/// Called once by `telemetry::init`: `local` when no span is exported, and the
/// share of new traces to mark sampled (`trace.sampling_ratio`; all when
/// `None`), which a service downstream that exports spans follows.
pub(crate) fn set_local(local: bool, sampled_share: Option<f64>) {
    LOCAL.store(local, Ordering::Relaxed);
    SAMPLED_SHARE.store(sampled_share.unwrap_or(1.0).to_bits(), Ordering::Relaxed);
}

/// Whether the middleware makes the ids (see [`set_local`]).
pub(crate) fn is_local() -> bool {
    LOCAL.load(Ordering::Relaxed)
}

/// A request's place in its trace: the trace it belongs to, its own span id and
/// the W3C trace flags (bit 0: sampled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceContext {
    trace_id: u128,
    span_id: u64,
    flags: u8,
}

/// Hex digits of a trace id and a span id, as log lines and `traceparent` write them.
pub(crate) struct IdText {
    trace_id: [u8; 32],
    span_id: [u8; 16],
}

impl IdText {
    pub(crate) fn trace_id(&self) -> &str {
        // Only ASCII hex digits are ever written into it.
        std::str::from_utf8(&self.trace_id).unwrap_or_default()
    }

    pub(crate) fn span_id(&self) -> &str {
        std::str::from_utf8(&self.span_id).unwrap_or_default()
    }
}

impl TraceContext {
    /// The span of a request with these headers: a child of the caller's
    /// `traceparent` when it is valid, else the root of a new trace.
    pub(crate) fn continue_or_start(headers: &HeaderMap) -> Self {
        let span_id = nonzero(random::next);
        match headers
            .get(&TRACEPARENT)
            .and_then(|value| parse(value.as_bytes()))
        {
            Some((trace_id, flags)) => Self {
                trace_id,
                span_id,
                flags,
            },
            None => {
                let share = f64::from_bits(SAMPLED_SHARE.load(Ordering::Relaxed));
                Self {
                    trace_id: nonzero(|| {
                        u128::from(random::next()) << 64 | u128::from(random::next())
                    }),
                    span_id,
                    flags: u8::from(random::unit() < share),
                }
            }
        }
    }

    pub(crate) fn text(&self) -> IdText {
        let mut text = IdText {
            trace_id: [0; 32],
            span_id: [0; 16],
        };
        hex(self.trace_id, &mut text.trace_id);
        hex(u128::from(self.span_id), &mut text.span_id);
        text
    }

    /// `traceparent` for a call made from this span: this span is its parent.
    pub(crate) fn traceparent(&self) -> HeaderValue {
        let text = self.text();
        let mut value = [0u8; 55];
        value[..3].copy_from_slice(b"00-");
        value[3..35].copy_from_slice(&text.trace_id);
        value[35] = b'-';
        value[36..52].copy_from_slice(&text.span_id);
        value[52] = b'-';
        hex(u128::from(self.flags), &mut value[53..55]);
        HeaderValue::from_bytes(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

/// Draws until the value is not zero (all-zero ids are invalid).
fn nonzero<T: PartialEq + Default>(draw: impl Fn() -> T) -> T {
    loop {
        let value = draw();
        if value != T::default() {
            return value;
        }
    }
}

/// `value`'s low `out.len()` hex digits, lowercase, most significant first.
fn hex(mut value: u128, out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for byte in out.iter_mut().rev() {
        *byte = DIGITS[(value & 0xf) as usize];
        value >>= 4;
    }
}

/// The trace id and flags of a valid `traceparent`
/// (`00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`): lowercase hex, ids
/// not all zero, version not `ff`; a later version may append fields.
fn parse(value: &[u8]) -> Option<(u128, u8)> {
    if value.len() < 55 || value[2] != b'-' || value[35] != b'-' || value[52] != b'-' {
        return None;
    }
    let version = from_hex(&value[..2])?;
    if version == 0xff
        || (version == 0 && value.len() != 55)
        || (value.len() > 55 && value[55] != b'-')
    {
        return None;
    }
    let trace_id = from_hex(&value[3..35])?;
    let parent_id = from_hex(&value[36..52])?;
    let flags = from_hex(&value[53..55])?;
    (trace_id != 0 && parent_id != 0).then_some((trace_id, flags as u8))
}

/// Lowercase hex digits as a number; `None` for anything else.
fn from_hex(digits: &[u8]) -> Option<u128> {
    digits.iter().try_fold(0u128, |value, digit| {
        let nibble = match digit {
            b'0'..=b'9' => digit - b'0',
            b'a'..=b'f' => digit - b'a' + 10,
            _ => return None,
        };
        Some(value << 4 | u128::from(nibble))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_traceparent(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("traceparent", HeaderValue::from_str(value).expect("header"));
        headers
    }

    #[test]
    fn a_valid_traceparent_is_continued_with_a_new_span_id() {
        let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let context = TraceContext::continue_or_start(&with_traceparent(parent));
        let text = context.text();

        assert_eq!(text.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_ne!(text.span_id(), "00f067aa0ba902b7");
        assert_eq!(text.span_id().len(), 16);
        let outbound = context.traceparent();
        let outbound = outbound.to_str().expect("ASCII");
        assert_eq!(
            outbound,
            format!("00-4bf92f3577b34da6a3ce929d0e0e4736-{}-01", text.span_id())
        );
    }

    #[test]
    fn the_callers_unsampled_flag_is_kept() {
        let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
        let context = TraceContext::continue_or_start(&with_traceparent(parent));
        assert!(
            context
                .traceparent()
                .to_str()
                .expect("ASCII")
                .ends_with("-00")
        );
    }

    #[test]
    fn an_invalid_traceparent_starts_a_new_trace() {
        for invalid in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
        ] {
            let context = TraceContext::continue_or_start(&with_traceparent(invalid));
            let text = context.text();
            assert_ne!(
                text.trace_id(),
                "4bf92f3577b34da6a3ce929d0e0e4736",
                "{invalid:?}"
            );
            assert_ne!(text.trace_id(), "0".repeat(32), "{invalid:?}");
        }
        let later = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra";
        let context = TraceContext::continue_or_start(&with_traceparent(later));
        assert_eq!(
            context.text().trace_id(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
    }

    #[test]
    fn new_traces_differ() {
        let headers = HeaderMap::new();
        let a = TraceContext::continue_or_start(&headers).text();
        let b = TraceContext::continue_or_start(&headers).text();
        assert_ne!(a.trace_id(), b.trace_id());
        assert_ne!(a.span_id(), b.span_id());
        assert!(a.trace_id().bytes().all(|digit| digit.is_ascii_hexdigit()));
    }
}
