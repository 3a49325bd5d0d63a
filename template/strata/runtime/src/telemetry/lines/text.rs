//! The pieces of a line written without `core::fmt`, which spends most of a
//! line's instructions: numbers, the timestamp, and strings quoted as `{:?}`
//! quotes them. Each writes exactly what its `fmt` counterpart writes (the tests
//! compare them); the uncommon cases go through `fmt` still.

use std::fmt::{self, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

/// An integer, as `{value}` writes it.
pub(super) fn integer(out: &mut String, value: impl itoa::Integer) -> fmt::Result {
    out.write_str(itoa::Buffer::new().format(value))
}

/// A float, as `{value}` writes it: the shortest digits that read back as
/// `value`, never an exponent.
pub(super) fn float(out: &mut String, value: f64) -> fmt::Result {
    if value.is_finite() {
        let mut buffer = ryu::Buffer::new();
        let text = buffer.format_finite(value);
        // ryu writes `1.0` and `1e-7` where `{}` writes `1` and `0.0000001`.
        if !text.contains('e') {
            return out.write_str(text.strip_suffix(".0").unwrap_or(text));
        }
    }
    write!(out, "{value}")
}

/// A string, as `{value:?}` writes it: in quotes, with quotes, backslashes and
/// anything but printable ASCII escaped.
pub(super) fn quoted(out: &mut String, value: &str) -> fmt::Result {
    let plain = |byte| matches!(byte, b' '..=b'~') && byte != b'"' && byte != b'\\';
    if first(value.as_bytes(), |byte| !plain(byte)).is_none() {
        out.write_char('"')?;
        out.write_str(value)?;
        out.write_char('"')
    } else {
        write!(out, "{value:?}")
    }
}

/// Where the first byte that is `special` is. Sixteen bytes are tested at a
/// time without a branch, which compiles to vector compares: most values in a
/// line (ids, names, addresses) have nothing to escape.
pub(super) fn first(bytes: &[u8], special: impl Fn(u8) -> bool) -> Option<usize> {
    let mut chunks = bytes.chunks_exact(16);
    let mut offset = 0;
    for chunk in &mut chunks {
        if chunk.iter().fold(false, |any, &byte| any | special(byte)) {
            break;
        }
        offset += 16;
    }
    bytes[offset..]
        .iter()
        .position(|&byte| special(byte))
        .map(|at| offset + at)
}

/// The first second of the year 10000: humantime writes years up to 9999.
const YEAR_10000: u64 = 253_402_300_800;

/// Now, as tracing-subscriber's `SystemTime` writes it: `2026-01-01T00:00:00.000000Z`.
pub(super) fn now(out: &mut String) {
    timestamp(out, SystemTime::now());
}

fn timestamp(out: &mut String, at: SystemTime) {
    if at
        .duration_since(UNIX_EPOCH)
        .is_ok_and(|since| since.as_secs() < YEAR_10000)
    {
        let _ = write!(out, "{}", humantime::format_rfc3339_micros(at));
    } else {
        // A clock before 1970 or past 9999: tracing-subscriber writes any year.
        let _ = tracing_subscriber::fmt::time::SystemTime.format_time(&mut Writer::new(out));
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn first_finds_the_same_byte_as_a_plain_search() {
        let special = |byte: u8| byte == b'"';
        for length in 0..50 {
            for at in 0..=length {
                let mut bytes = vec![b'a'; length];
                if at < length {
                    bytes[at] = b'"';
                    // A second one later must not be the one found.
                    if at + 17 < length {
                        bytes[at + 17] = b'"';
                    }
                }
                let plain = bytes.iter().position(|&byte| special(byte));
                assert_eq!(first(&bytes, special), plain, "length {length}, at {at}");
            }
        }
    }

    fn written(write: impl FnOnce(&mut String)) -> String {
        let mut out = String::new();
        write(&mut out);
        out
    }

    #[test]
    fn integers_read_as_display_writes_them() {
        for value in [0, 1, 9, 10, 404, u64::from(u32::MAX), u64::MAX] {
            assert_eq!(
                written(|out| integer(out, value).expect("written")),
                value.to_string()
            );
        }
        for value in [i64::MIN, -1, 0, 42, i64::MAX] {
            assert_eq!(
                written(|out| integer(out, value).expect("written")),
                value.to_string()
            );
        }
    }

    #[test]
    fn floats_read_as_display_writes_them() {
        let odd = [
            0.0,
            -0.0,
            1.0,
            -1.5,
            0.1,
            1.0 / 3.0,
            0.000_001,
            1e-7,
            123_456.789,
            1e15,
            1e16,
            1e300,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::EPSILON,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        // And a few thousand arbitrary bit patterns (a fixed LCG: repeatable).
        let mut bits = 0x2545_f491_4f6c_dd1d_u64;
        let arbitrary = (0..5000).map(|_| {
            bits = bits
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            f64::from_bits(bits)
        });
        // Latencies in milliseconds, as the access line has them.
        let latencies = (0..5000).map(|micros| f64::from(micros * 37) / 1000.0);
        for value in odd.into_iter().chain(arbitrary).chain(latencies) {
            assert_eq!(
                written(|out| float(out, value).expect("written")),
                value.to_string()
            );
        }
    }

    #[test]
    fn strings_are_quoted_as_debug_quotes_them() {
        for value in [
            "",
            "GET /healthz",
            "4bf92f3577b34da6a3ce929d0e0e4736",
            "quote \" backslash \\",
            "newline \n tab \t bell \u{7} del \u{7f}",
            "é ünïcode ✓ \u{200b} \u{301}",
            "it's",
        ] {
            assert_eq!(
                written(|out| quoted(out, value).expect("written")),
                format!("{value:?}")
            );
        }
    }

    #[test]
    fn timestamps_read_as_tracing_subscriber_writes_them() {
        let at =
            |secs: u64, micros: u64| UNIX_EPOCH + Duration::from_micros(secs * 1_000_000 + micros);
        assert_eq!(
            written(|out| timestamp(out, at(0, 0))),
            "1970-01-01T00:00:00.000000Z"
        );
        assert_eq!(
            written(|out| timestamp(out, at(951_827_696, 789_012))),
            "2000-02-29T12:34:56.789012Z"
        );
        assert_eq!(
            written(|out| timestamp(out, at(YEAR_10000 - 1, 999_999))),
            "9999-12-31T23:59:59.999999Z"
        );
        // Now, against tracing-subscriber's own clock: the same to the second,
        // unless a second turned between the two (then once more).
        let seconds = |text: &str| text[..text.find('.').expect("a fraction")].to_owned();
        let same = (0..3).any(|_| {
            let ours = written(now);
            let theirs = written(|out| {
                let _ =
                    tracing_subscriber::fmt::time::SystemTime.format_time(&mut Writer::new(out));
            });
            ours.len() == theirs.len() && seconds(&ours) == seconds(&theirs)
        });
        assert!(same);
    }
}
