//! A message against its compiled rules: every broken rule becomes a
//! [`Violation`] naming the field's path (`note.title`, `tags[2]`).

use std::collections::HashSet;

use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MapKey, ReflectMessage, Value};

use super::rules::{Bound, Check, FieldRules, Ignore, MessageRules, Rules, float_of, int_of};
use crate::error::Violation;

/// The most violations a refusal lists: a long list of bad items must not
/// make an error larger than a client accepts as trailers.
pub(super) const MAX_VIOLATIONS: usize = 32;

/// The violations found so far, and the first rule that could not be evaluated.
#[derive(Default)]
pub(super) struct Report {
    pub(super) violations: Vec<Violation>,
    /// Violations past [`MAX_VIOLATIONS`], counted but not listed.
    pub(super) more: usize,
    pub(super) unsupported: Option<String>,
}

impl Report {
    fn push(&mut self, field: &str, rule: String, description: String) {
        if self.violations.len() == MAX_VIOLATIONS {
            self.more += 1;
            return;
        }
        self.violations.push(Violation {
            field: field.to_owned(),
            rule,
            description,
        });
    }
}

pub(super) fn message(
    rules: &Rules,
    own: &MessageRules,
    message: &DynamicMessage,
    prefix: &str,
    report: &mut Report,
) {
    if let Some(rule) = &own.unsupported {
        report.unsupported.get_or_insert_with(|| rule.clone());
    }
    for oneof in &own.required_oneofs {
        if !oneof.fields().any(|field| message.has_field(&field)) {
            report.push(
                &join(prefix, oneof.name()),
                "required".to_owned(),
                "exactly one field is required in oneof".to_owned(),
            );
        }
    }
    for field_rules in &own.fields {
        field(rules, field_rules, message, prefix, report);
    }
}

/// [`message`] for a message of plain strings (`MessageRules::strings`),
/// from the text of each of its fields at the index of its number in
/// `numbers`: the same violations, without a reflection message.
pub(super) fn strings(own: &MessageRules, numbers: &[u32], texts: &[&str], report: &mut Report) {
    for field_rules in &own.fields {
        let descriptor = &field_rules.field;
        if field_rules.ignore == Ignore::Always {
            continue;
        }
        let text = numbers
            .iter()
            .position(|number| *number == descriptor.number())
            .and_then(|index| texts.get(index))
            .copied()
            .unwrap_or_default();
        let path = descriptor.name().to_owned();
        // Empty is unset for a string without presence, as in `field`.
        if text.is_empty() {
            if field_rules.required {
                report.push(&path, "required".to_owned(), "value is required".to_owned());
                continue;
            }
            if field_rules.ignore == Ignore::IfZero {
                continue;
            }
        }
        let value = Value::String(text.to_owned());
        scalar(descriptor, &field_rules.checks, &value, &path, report);
    }
}

fn field(
    rules: &Rules,
    field_rules: &FieldRules,
    message: &DynamicMessage,
    prefix: &str,
    report: &mut Report,
) {
    let descriptor = &field_rules.field;
    if field_rules.ignore == Ignore::Always {
        return;
    }
    let path = join(prefix, descriptor.name());
    let set = message.has_field(descriptor);
    if !set {
        if field_rules.required {
            report.push(&path, "required".to_owned(), "value is required".to_owned());
            return;
        }
        // Fields with presence are checked only when set; implicit ones always,
        // unless their zero value is ignored.
        if field_rules.ignore == Ignore::IfZero
            || descriptor.supports_presence()
            || descriptor.is_list()
            || descriptor.is_map()
        {
            if descriptor.is_list() || descriptor.is_map() {
                // An empty list still has a size to check.
                if field_rules.ignore != Ignore::IfZero {
                    let empty = message.get_field(descriptor);
                    sized(field_rules, &empty, &path, report);
                }
            }
            return;
        }
    }
    let value = message.get_field(descriptor);
    match value.as_ref() {
        Value::List(items) => {
            sized(field_rules, &value, &path, report);
            for (index, item) in items.iter().enumerate() {
                let item_path = format!("{path}[{index}]");
                scalar(descriptor, &field_rules.items, item, &item_path, report);
                if field_rules.nested {
                    nested(rules, item, &item_path, report);
                }
            }
        }
        Value::Map(entries) => {
            sized(field_rules, &value, &path, report);
            if field_rules.nested {
                for (key, item) in entries {
                    nested(rules, item, &format!("{path}[{}]", map_key(key)), report);
                }
            }
        }
        single => {
            scalar(descriptor, &field_rules.checks, single, &path, report);
            if field_rules.nested {
                nested(rules, single, &path, report);
            }
        }
    }
}

fn nested(rules: &Rules, value: &Value, path: &str, report: &mut Report) {
    if let Value::Message(inner) = value
        && let Some(own) = rules.messages.get(inner.descriptor().full_name())
    {
        message(rules, own, inner, path, report);
    }
}

fn map_key(key: &MapKey) -> String {
    match key {
        MapKey::String(text) => format!("{text:?}"),
        MapKey::Bool(v) => v.to_string(),
        MapKey::I32(v) => v.to_string(),
        MapKey::I64(v) => v.to_string(),
        MapKey::U32(v) => v.to_string(),
        MapKey::U64(v) => v.to_string(),
    }
}

/// The checks on a list's or a map's size, and `repeated.unique`.
fn sized(field_rules: &FieldRules, value: &Value, path: &str, report: &mut Report) {
    let (len, kind) = match value {
        Value::List(items) => (items.len() as u64, "repeated"),
        Value::Map(entries) => (entries.len() as u64, "map"),
        _ => return,
    };
    for check in &field_rules.checks {
        let broken = match check {
            Check::MinItems(min) if len < *min => Some((
                "min_items",
                format!("value must contain at least {min} item(s)"),
            )),
            Check::MaxItems(max) if len > *max => Some((
                "max_items",
                format!("value must contain no more than {max} item(s)"),
            )),
            Check::MinPairs(min) if len < *min => {
                Some(("min_pairs", format!("map must be at least {min} entries")))
            }
            Check::MaxPairs(max) if len > *max => {
                Some(("max_pairs", format!("map must be at most {max} entries")))
            }
            Check::Unique if !unique(value) => Some((
                "unique",
                "repeated value must contain unique items".to_owned(),
            )),
            Check::Unsupported(rule) => {
                report.unsupported.get_or_insert_with(|| rule.clone());
                None
            }
            _ => None,
        };
        if let Some((rule, description)) = broken {
            report.push(path, format!("{kind}.{rule}"), description);
        }
    }
}

fn unique(value: &Value) -> bool {
    let Value::List(items) = value else {
        return true;
    };
    let mut seen = HashSet::with_capacity(items.len());
    items.iter().all(|item| seen.insert(format!("{item:?}")))
}

/// The checks on one value (a singular field, or one element of a list).
fn scalar(
    field: &FieldDescriptor,
    checks: &[Check],
    value: &Value,
    path: &str,
    report: &mut Report,
) {
    let kind = kind_name(&field.kind());
    for check in checks {
        if let Some((rule, description)) = broken(field, check, value, report) {
            report.push(path, format!("{kind}.{rule}"), description);
        }
    }
}

/// The rule `check` breaks on `value`: its id within the field's type and what
/// is wrong; `None` when it holds.
fn broken(
    field: &FieldDescriptor,
    check: &Check,
    value: &Value,
    report: &mut Report,
) -> Option<(&'static str, String)> {
    let fail = |rule: &'static str, description: String| Some((rule, description));
    match (check, value) {
        (Check::MinChars(min), Value::String(s)) if chars(s) < *min => fail(
            "min_len",
            format!("value length must be at least {min} characters"),
        ),
        (Check::MaxChars(max), Value::String(s)) if chars(s) > *max => fail(
            "max_len",
            format!("value length must be at most {max} characters"),
        ),
        (Check::Chars(len), Value::String(s)) if chars(s) != *len => {
            fail("len", format!("value length must be {len} characters"))
        }
        (Check::MinBytes(min), _) if byte_len(value).is_some_and(|n| n < *min) => fail(
            bytes_rule(value, "min_bytes", "min_len"),
            format!("value length must be at least {min} bytes"),
        ),
        (Check::MaxBytes(max), _) if byte_len(value).is_some_and(|n| n > *max) => fail(
            bytes_rule(value, "max_bytes", "max_len"),
            format!("value length must be at most {max} bytes"),
        ),
        (Check::Bytes(len), _) if byte_len(value).is_some_and(|n| n != *len) => fail(
            bytes_rule(value, "len_bytes", "len"),
            format!("value length must be {len} bytes"),
        ),
        (Check::Pattern(regex), Value::String(s)) if !regex.is_match(s) => fail(
            "pattern",
            format!("value does not match regex pattern `{}`", regex.as_str()),
        ),
        (Check::Prefix(prefix), Value::String(s)) if !s.starts_with(prefix.as_str()) => {
            fail("prefix", format!("value does not have prefix `{prefix}`"))
        }
        (Check::Suffix(suffix), Value::String(s)) if !s.ends_with(suffix.as_str()) => {
            fail("suffix", format!("value does not have suffix `{suffix}`"))
        }
        (Check::Contains(part), Value::String(s)) if !s.contains(part.as_str()) => fail(
            "contains",
            format!("value does not contain substring `{part}`"),
        ),
        (Check::NotContains(part), Value::String(s)) if s.contains(part.as_str()) => {
            fail("not_contains", format!("value contains substring `{part}`"))
        }
        (Check::StringConst(expected), Value::String(s)) if s != expected => {
            fail("const", format!("value must equal `{expected}`"))
        }
        (Check::StringIn(set, true), Value::String(s)) if !set.contains(s) => {
            fail("in", format!("value must be in list {set:?}"))
        }
        (Check::StringIn(set, false), Value::String(s)) if set.contains(s) => {
            fail("not_in", format!("value must not be in list {set:?}"))
        }
        (Check::Uuid, Value::String(s)) if !is_uuid(s) => {
            fail("uuid", "value must be a valid UUID".to_owned())
        }
        (Check::Int(bound, limit), _) => {
            let actual = int_of(value)?;
            (!holds(*bound, actual.cmp(limit))).then(|| (bound.name(), bound_text(*bound, limit)))
        }
        (Check::IntConst(expected), _) if int_of(value).is_some_and(|v| v != *expected) => {
            fail("const", format!("value must equal {expected}"))
        }
        (Check::IntIn(set, true), _) if int_of(value).is_some_and(|v| !set.contains(&v)) => {
            fail("in", format!("value must be in list {set:?}"))
        }
        (Check::IntIn(set, false), _) if int_of(value).is_some_and(|v| set.contains(&v)) => {
            fail("not_in", format!("value must not be in list {set:?}"))
        }
        (Check::Float(bound, limit), _) => {
            // NaN compares with nothing: it breaks every bound.
            let order = float_of(value)?.partial_cmp(limit);
            (!order.is_some_and(|order| holds(*bound, order)))
                .then(|| (bound.name(), bound_text(*bound, limit)))
        }
        (Check::FloatConst(expected), _) if float_of(value).is_some_and(|v| v != *expected) => {
            fail("const", format!("value must equal {expected}"))
        }
        (Check::FloatIn(set, true), _) if float_of(value).is_some_and(|v| !set.contains(&v)) => {
            fail("in", format!("value must be in list {set:?}"))
        }
        (Check::FloatIn(set, false), _) if float_of(value).is_some_and(|v| set.contains(&v)) => {
            fail("not_in", format!("value must not be in list {set:?}"))
        }
        (Check::Finite, _) if float_of(value).is_some_and(|v| !v.is_finite()) => {
            fail("finite", "value must be finite".to_owned())
        }
        (Check::BoolConst(expected), Value::Bool(actual)) if actual != expected => {
            fail("const", format!("value must equal {expected}"))
        }
        (Check::EnumDefinedOnly, Value::EnumNumber(number)) => match field.kind() {
            Kind::Enum(kind) if kind.get_value(*number).is_none() => fail(
                "defined_only",
                "value must be one of the defined enum values".to_owned(),
            ),
            _ => None,
        },
        (Check::Unsupported(rule), _) => {
            report.unsupported.get_or_insert_with(|| rule.clone());
            None
        }
        _ => None,
    }
}

fn chars(text: &str) -> u64 {
    text.chars().count() as u64
}

fn byte_len(value: &Value) -> Option<u64> {
    match value {
        Value::String(s) => Some(s.len() as u64),
        Value::Bytes(b) => Some(b.len() as u64),
        _ => None,
    }
}

/// `string.min_bytes` but `bytes.min_len`: the same check, two names.
fn bytes_rule(value: &Value, string: &'static str, bytes: &'static str) -> &'static str {
    match value {
        Value::Bytes(_) => bytes,
        _ => string,
    }
}

fn holds(bound: Bound, order: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::{Greater, Less};
    match bound {
        Bound::Lt => order == Less,
        Bound::Lte => order != Greater,
        Bound::Gt => order == Greater,
        Bound::Gte => order != Less,
    }
}

fn bound_text(bound: Bound, limit: &dyn std::fmt::Display) -> String {
    let relation = match bound {
        Bound::Lt => "less than",
        Bound::Lte => "less than or equal to",
        Bound::Gt => "greater than",
        Bound::Gte => "greater than or equal to",
    };
    format!("value must be {relation} {limit}")
}

/// The canonical 8-4-4-4-12 hex form, any case.
fn is_uuid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// The proto type name, as the rule ids use it: `int32`, `string`.
fn kind_name(kind: &Kind) -> &'static str {
    match kind {
        Kind::Double => "double",
        Kind::Float => "float",
        Kind::Int32 => "int32",
        Kind::Int64 => "int64",
        Kind::Uint32 => "uint32",
        Kind::Uint64 => "uint64",
        Kind::Sint32 => "sint32",
        Kind::Sint64 => "sint64",
        Kind::Fixed32 => "fixed32",
        Kind::Fixed64 => "fixed64",
        Kind::Sfixed32 => "sfixed32",
        Kind::Sfixed64 => "sfixed64",
        Kind::Bool => "bool",
        Kind::String => "string",
        Kind::Bytes => "bytes",
        Kind::Message(_) => "message",
        Kind::Enum(_) => "enum",
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}
