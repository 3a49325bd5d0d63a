//! The `buf.validate` rules of the api's protos, as the generators read them:
//! the OpenAPI document shows them as constraints, and a rule the runtime
//! (`strata::validate`) does not evaluate is refused here, at build time, so a
//! service never starts with a rule it would not check.

use anyhow::{Result, bail};
use prost_reflect::{DynamicMessage, FieldDescriptor, Value};

use crate::protos::Compiled;

/// The rules `strata::validate` evaluates, per rule set (`string`, `int32`, ...).
/// `example` only documents a field.
const NUMERIC: &[&str] = &["const", "lt", "lte", "gt", "gte", "in", "not_in", "example"];
const STRING: &[&str] = &[
    "const",
    "len",
    "min_len",
    "max_len",
    "len_bytes",
    "min_bytes",
    "max_bytes",
    "pattern",
    "prefix",
    "suffix",
    "contains",
    "not_contains",
    "in",
    "not_in",
    "uuid",
    "example",
];

fn supported(kind: &str, rule: &str) -> bool {
    let rules: &[&str] = match kind {
        "string" => STRING,
        "bytes" => &["min_len", "max_len", "len", "example"],
        "bool" => &["const", "example"],
        "enum" => &["const", "defined_only", "in", "not_in", "example"],
        "map" => &["min_pairs", "max_pairs"],
        "repeated" => &["min_items", "max_items", "unique", "items"],
        "float" | "double" => {
            return rule == "finite" || NUMERIC.contains(&rule);
        }
        "int32" | "int64" | "uint32" | "uint64" | "sint32" | "sint64" | "fixed32" | "fixed64"
        | "sfixed32" | "sfixed64" => NUMERIC,
        _ => &[],
    };
    rules.contains(&rule)
}

/// The `(buf.validate.field)` option of `field`, if it has one.
pub fn of(field: &FieldDescriptor) -> Option<DynamicMessage> {
    let ext = field
        .parent_pool()
        .get_extension_by_name("buf.validate.field")?;
    let options = field.options();
    if !options.has_extension(&ext) {
        return None;
    }
    options.get_extension(&ext).as_message().cloned()
}

/// `(buf.validate.field).required`.
pub fn required(rules: &DynamicMessage) -> bool {
    rules
        .get_field_by_name("required")
        .is_some_and(|value| value.as_bool() == Some(true))
}

/// The typed rule set (`string`, `int32`, ...) and its set rules, by name.
pub fn typed(rules: &DynamicMessage) -> Option<(String, Vec<(String, Value)>)> {
    rules.fields().find_map(|(field, value)| {
        let set = value.as_message()?;
        (!matches!(field.name(), "repeated" | "cel")).then(|| {
            let values = set
                .fields()
                .map(|(rule, value)| (rule.name().to_owned(), value.clone()))
                .collect();
            (field.name().to_owned(), values)
        })
    })
}

/// `(buf.validate.field).repeated`, its set rules by name.
pub fn repeated(rules: &DynamicMessage) -> Vec<(String, Value)> {
    rules
        .get_field_by_name("repeated")
        .and_then(|value| value.as_message().cloned())
        .map(|set| {
            set.fields()
                .map(|(rule, value)| (rule.name().to_owned(), value.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// Every rule of the api's own protos is one `strata::validate` evaluates.
pub fn check_supported(compiled: &Compiled) -> Result<()> {
    let pool = &compiled.pool;
    let message_ext = pool.get_extension_by_name("buf.validate.message");
    let oneof_ext = pool.get_extension_by_name("buf.validate.oneof");
    let mut messages = Vec::new();
    for file in compiled.files() {
        messages.extend(file.messages());
    }
    // Bounded by the pool: each message is visited once, nested ones after it.
    let mut next = 0;
    while next < messages.len() {
        let nested: Vec<_> = messages[next].child_messages().collect();
        messages.extend(nested);
        next += 1;
    }
    for message in messages {
        if let Some(ext) = &message_ext
            && message.options().has_extension(ext)
        {
            bail!(
                "{}: message-level buf.validate rules (CEL, oneof groups) are not \
                     evaluated by strata; use field rules",
                message.full_name()
            );
        }
        if let Some(ext) = &oneof_ext {
            for oneof in message.oneofs() {
                let options = oneof.options();
                if !options.has_extension(ext) {
                    continue;
                }
                if let Some(set) = options.get_extension(ext).as_message()
                    && let Some((rule, _)) = set.fields().find(|(r, _)| r.name() != "required")
                {
                    bail!(
                        "{}.{}: (buf.validate.oneof).{} is not evaluated by strata",
                        message.full_name(),
                        oneof.name(),
                        rule.name()
                    );
                }
            }
        }
        for field in message.fields() {
            if let Some(rules) = of(&field) {
                check_field(&field, &rules, "")?;
            }
        }
    }
    Ok(())
}

fn check_field(field: &FieldDescriptor, rules: &DynamicMessage, prefix: &str) -> Result<()> {
    for (set, value) in rules.fields() {
        let kind = set.name();
        if prefix.is_empty() && matches!(kind, "required" | "ignore") {
            continue;
        }
        let Some(typed) = value.as_message() else {
            bail!(
                "{}: (buf.validate.field).{prefix}{kind} is not evaluated by strata \
                 (CEL and predefined rules are not supported)",
                field.full_name()
            );
        };
        for (rule, value) in typed.fields() {
            if !supported(kind, rule.name()) {
                bail!(
                    "{}: (buf.validate.field).{prefix}{kind}.{} is not evaluated by strata; \
                     docs/security.md lists the rules it checks",
                    field.full_name(),
                    rule.name()
                );
            }
            if rule.name() == "pattern"
                && let Some(pattern) = value.as_str()
                && let Err(err) = regex::Regex::new(pattern)
            {
                bail!(
                    "{}: (buf.validate.field).{prefix}{kind}.pattern is not a valid RE2 \
                     pattern: {err}",
                    field.full_name()
                );
            }
            if kind == "repeated"
                && rule.name() == "items"
                && let Some(items) = value.as_message()
            {
                check_field(field, items, "repeated.items.")?;
            }
        }
    }
    Ok(())
}
