//! The `buf.validate` rules of a descriptor pool, read once: per message, the
//! fields to check and what to check them against. The standard rules only
//! (lengths, bounds, patterns, sets, presence, nesting); a rule this release does
//! not evaluate (CEL, well-known formats other than `uuid`, duration and
//! timestamp bounds) is kept as [`Check::Unsupported`], which refuses the request
//! with INTERNAL rather than let it through unchecked. `strata-codegen` refuses
//! the same rules at build time, so a service never starts with one.

use std::collections::HashMap;
use std::sync::Arc;

use prost_reflect::{
    DescriptorPool, DynamicMessage, ExtensionDescriptor, FieldDescriptor, Kind, MessageDescriptor,
    Value,
};
use regex::Regex;

/// `buf.validate.Ignore`: when a field's rules are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ignore {
    /// Implicit-presence fields are always checked; others when set.
    Unspecified,
    /// Skipped at the zero value (unset, empty, 0).
    IfZero,
    Always,
}

/// The rules of one message: its checked fields and its required oneofs.
#[derive(Debug)]
pub(super) struct MessageRules {
    /// The message checked: kept here so a check looks its name up once.
    pub(super) descriptor: MessageDescriptor,
    pub(super) fields: Vec<FieldRules>,
    /// Oneofs with `(buf.validate.oneof).required`.
    pub(super) required_oneofs: Vec<prost_reflect::OneofDescriptor>,
    /// A message-level rule this release does not evaluate.
    pub(super) unsupported: Option<String>,
    /// Its field numbers, when it is a message of plain strings whose rules
    /// are all on those strings: checked from its bytes
    /// ([`check::strings`](super::check::strings)).
    pub(super) strings: Option<Box<[u32]>>,
}

/// What one field is checked against.
#[derive(Debug)]
pub(super) struct FieldRules {
    pub(super) field: FieldDescriptor,
    pub(super) required: bool,
    pub(super) ignore: Ignore,
    /// The checks of the value (of each element, for a repeated field).
    pub(super) checks: Vec<Check>,
    /// `repeated.items`: the checks of each element.
    pub(super) items: Vec<Check>,
    /// The field's message type has rules of its own.
    pub(super) nested: bool,
}

/// One standard rule, with the id protovalidate gives it (`string.min_len`).
#[derive(Debug)]
pub(super) enum Check {
    MinChars(u64),
    MaxChars(u64),
    Chars(u64),
    MinBytes(u64),
    MaxBytes(u64),
    Bytes(u64),
    Pattern(Box<Regex>),
    Prefix(String),
    Suffix(String),
    Contains(String),
    NotContains(String),
    StringIn(Vec<String>, bool),
    StringConst(String),
    Uuid,
    /// Integers of every width, as i128.
    Int(Bound, i128),
    IntIn(Vec<i128>, bool),
    IntConst(i128),
    Float(Bound, f64),
    FloatIn(Vec<f64>, bool),
    FloatConst(f64),
    Finite,
    BoolConst(bool),
    EnumDefinedOnly,
    MinItems(u64),
    MaxItems(u64),
    Unique,
    MinPairs(u64),
    MaxPairs(u64),
    Unsupported(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Bound {
    Lt,
    Lte,
    Gt,
    Gte,
}

impl Bound {
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Lt => "lt",
            Self::Lte => "lte",
            Self::Gt => "gt",
            Self::Gte => "gte",
        }
    }
}

/// The compiled rules of every message of a pool that has any, directly or in a
/// nested message.
#[derive(Debug, Default)]
pub struct Rules {
    pub(super) messages: HashMap<String, Arc<MessageRules>>,
}

impl Rules {
    /// Reads the `buf.validate` options of every message in `pool`. A pool
    /// without `buf/validate/validate.proto` has no rules.
    pub fn new(pool: &DescriptorPool) -> Self {
        let Some(field_ext) = pool.get_extension_by_name("buf.validate.field") else {
            return Self {
                messages: HashMap::new(),
            };
        };
        let oneof_ext = pool.get_extension_by_name("buf.validate.oneof");
        let message_ext = pool.get_extension_by_name("buf.validate.message");
        let mut own: HashMap<String, MessageRules> = pool
            .all_messages()
            .map(|message| {
                let rules = message_rules(
                    &message,
                    &field_ext,
                    oneof_ext.as_ref(),
                    message_ext.as_ref(),
                );
                (message.full_name().to_owned(), rules)
            })
            .collect();
        // A field whose message type is checked (at any depth) is checked too.
        let checked = with_nested_rules(pool, &own);
        for message in pool.all_messages() {
            let Some(rules) = own.get_mut(message.full_name()) else {
                continue;
            };
            for field in message.fields() {
                let nested =
                    message_kind(&field).is_some_and(|kind| checked.contains(kind.full_name()));
                if !nested {
                    continue;
                }
                match rules.fields.iter_mut().find(|f| f.field == field) {
                    Some(existing) => existing.nested = true,
                    None => rules.fields.push(FieldRules {
                        field,
                        required: false,
                        ignore: Ignore::Unspecified,
                        checks: Vec::new(),
                        items: Vec::new(),
                        nested: true,
                    }),
                }
            }
        }
        let messages = own
            .into_iter()
            .filter(|(name, _)| checked.contains(name.as_str()))
            .map(|(name, mut rules)| {
                let simple = rules.unsupported.is_none()
                    && rules.required_oneofs.is_empty()
                    && rules.fields.iter().all(|field| !field.nested);
                if simple {
                    rules.strings = crate::plain_strings::numbers(&rules.descriptor);
                }
                (name, Arc::new(rules))
            })
            .collect();
        Self { messages }
    }

    /// Whether `message` (the full proto name) has rules to check.
    pub fn checks(&self, message: &str) -> bool {
        self.messages.contains_key(message)
    }
}

/// The names of the messages with rules of their own or in a message field, at
/// any depth.
fn with_nested_rules(
    pool: &DescriptorPool,
    own: &HashMap<String, MessageRules>,
) -> std::collections::HashSet<String> {
    let mut checked: std::collections::HashSet<String> = own
        .iter()
        .filter(|(_, rules)| {
            !rules.fields.is_empty()
                || !rules.required_oneofs.is_empty()
                || rules.unsupported.is_some()
        })
        .map(|(name, _)| name.clone())
        .collect();
    // Bounded: each pass adds at least one message or stops.
    loop {
        let before = checked.len();
        for message in pool.all_messages() {
            if checked.contains(message.full_name()) {
                continue;
            }
            let reaches = message.fields().any(|field| {
                message_kind(&field).is_some_and(|kind| checked.contains(kind.full_name()))
            });
            if reaches {
                checked.insert(message.full_name().to_owned());
            }
        }
        if checked.len() == before {
            return checked;
        }
    }
}

fn message_rules(
    message: &MessageDescriptor,
    field_ext: &ExtensionDescriptor,
    oneof_ext: Option<&ExtensionDescriptor>,
    message_ext: Option<&ExtensionDescriptor>,
) -> MessageRules {
    let mut rules = MessageRules {
        descriptor: message.clone(),
        fields: Vec::new(),
        required_oneofs: Vec::new(),
        unsupported: None,
        strings: None,
    };
    if let Some(ext) = message_ext
        && message.options().has_extension(ext)
        && let Some(set) = message.options().get_extension(ext).as_message()
        && let Some((field, _)) = set.fields().next()
    {
        rules.unsupported = Some(format!("(buf.validate.message).{}", field.name()));
    }
    if let Some(ext) = oneof_ext {
        for oneof in message.oneofs() {
            let options = oneof.options();
            if options.has_extension(ext) {
                let value = options.get_extension(ext);
                let required = value
                    .as_message()
                    .and_then(|set| set.get_field_by_name("required"))
                    .and_then(|v| v.as_bool())
                    .unwrap_or(false);
                if required {
                    rules.required_oneofs.push(oneof);
                }
            }
        }
    }
    for field in message.fields() {
        let options = field.options();
        if !options.has_extension(field_ext) {
            continue;
        }
        if let Some(set) = options.get_extension(field_ext).as_message() {
            rules.fields.push(field_rules(field.clone(), set));
        }
    }
    rules
}

fn field_rules(field: FieldDescriptor, set: &DynamicMessage) -> FieldRules {
    let mut rules = FieldRules {
        field,
        required: false,
        ignore: Ignore::Unspecified,
        checks: Vec::new(),
        items: Vec::new(),
        nested: false,
    };
    for (rule, value) in set.fields() {
        match rule.name() {
            "required" => rules.required = value.as_bool().unwrap_or(false),
            "ignore" => {
                rules.ignore = match value.as_enum_number() {
                    Some(1) => Ignore::IfZero,
                    Some(3) => Ignore::Always,
                    _ => Ignore::Unspecified,
                }
            }
            "repeated" => {
                if let Some(repeated) = value.as_message() {
                    repeated_rules(repeated, &mut rules);
                }
            }
            kind => match value.as_message() {
                Some(typed) => rules.checks.extend(type_rules(kind, typed)),
                None => rules.checks.push(Check::Unsupported(kind.to_owned())),
            },
        }
    }
    rules
}

fn repeated_rules(repeated: &DynamicMessage, rules: &mut FieldRules) {
    for (rule, value) in repeated.fields() {
        let count = value.as_u64().unwrap_or(0);
        match rule.name() {
            "min_items" => rules.checks.push(Check::MinItems(count)),
            "max_items" => rules.checks.push(Check::MaxItems(count)),
            "unique" if value.as_bool() == Some(true) => rules.checks.push(Check::Unique),
            "unique" => {}
            "items" => {
                if let Some(items) = value.as_message() {
                    let element = field_rules(rules.field.clone(), items);
                    rules.items = element.checks;
                    if element.required || element.ignore != Ignore::Unspecified {
                        rules
                            .items
                            .push(Check::Unsupported("repeated.items.required".to_owned()));
                    }
                }
            }
            other => rules
                .checks
                .push(Check::Unsupported(format!("repeated.{other}"))),
        }
    }
}

/// The checks of one typed rule set: `(buf.validate.field).string = {...}`.
fn type_rules(kind: &str, typed: &DynamicMessage) -> Vec<Check> {
    let mut checks = Vec::new();
    for (rule, value) in typed.fields() {
        let name = rule.name();
        // Examples document a field; they are never checked.
        if name == "example" {
            continue;
        }
        let check = match kind {
            "string" => string_rule(name, value),
            "bytes" => bytes_rule(name, value),
            "bool" if name == "const" => value.as_bool().map(Check::BoolConst),
            "enum" => enum_rule(name, value),
            "map" => map_rule(name, value),
            "float" | "double" => float_rule(name, value),
            "int32" | "int64" | "uint32" | "uint64" | "sint32" | "sint64" | "fixed32"
            | "fixed64" | "sfixed32" | "sfixed64" => int_rule(name, value),
            _ => None,
        };
        checks.push(check.unwrap_or_else(|| Check::Unsupported(format!("{kind}.{name}"))));
    }
    checks
}

fn string_rule(name: &str, value: &Value) -> Option<Check> {
    Some(match name {
        "min_len" => Check::MinChars(value.as_u64()?),
        "max_len" => Check::MaxChars(value.as_u64()?),
        "len" => Check::Chars(value.as_u64()?),
        "min_bytes" => Check::MinBytes(value.as_u64()?),
        "max_bytes" => Check::MaxBytes(value.as_u64()?),
        "len_bytes" => Check::Bytes(value.as_u64()?),
        "pattern" => Check::Pattern(Box::new(Regex::new(value.as_str()?).ok()?)),
        "prefix" => Check::Prefix(value.as_str()?.to_owned()),
        "suffix" => Check::Suffix(value.as_str()?.to_owned()),
        "contains" => Check::Contains(value.as_str()?.to_owned()),
        "not_contains" => Check::NotContains(value.as_str()?.to_owned()),
        "const" => Check::StringConst(value.as_str()?.to_owned()),
        "in" | "not_in" => Check::StringIn(
            value
                .as_list()?
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            name == "in",
        ),
        "uuid" if value.as_bool() == Some(true) => Check::Uuid,
        _ => return None,
    })
}

fn bytes_rule(name: &str, value: &Value) -> Option<Check> {
    Some(match name {
        "min_len" => Check::MinBytes(value.as_u64()?),
        "max_len" => Check::MaxBytes(value.as_u64()?),
        "len" => Check::Bytes(value.as_u64()?),
        _ => return None,
    })
}

fn enum_rule(name: &str, value: &Value) -> Option<Check> {
    Some(match name {
        "defined_only" if value.as_bool() == Some(true) => Check::EnumDefinedOnly,
        "const" => Check::IntConst(i128::from(value.as_i32()?)),
        "in" | "not_in" => Check::IntIn(
            value
                .as_list()?
                .iter()
                .filter_map(|v| v.as_i32().map(i128::from))
                .collect(),
            name == "in",
        ),
        _ => return None,
    })
}

fn map_rule(name: &str, value: &Value) -> Option<Check> {
    Some(match name {
        "min_pairs" => Check::MinPairs(value.as_u64()?),
        "max_pairs" => Check::MaxPairs(value.as_u64()?),
        _ => return None,
    })
}

fn bound(name: &str) -> Option<Bound> {
    Some(match name {
        "lt" => Bound::Lt,
        "lte" => Bound::Lte,
        "gt" => Bound::Gt,
        "gte" => Bound::Gte,
        _ => return None,
    })
}

/// An integer rule value of any width.
pub(super) fn int_of(value: &Value) -> Option<i128> {
    match value {
        Value::I32(v) => Some(i128::from(*v)),
        Value::I64(v) => Some(i128::from(*v)),
        Value::U32(v) => Some(i128::from(*v)),
        Value::U64(v) => Some(i128::from(*v)),
        Value::EnumNumber(v) => Some(i128::from(*v)),
        _ => None,
    }
}

pub(super) fn float_of(value: &Value) -> Option<f64> {
    match value {
        Value::F32(v) => Some(f64::from(*v)),
        Value::F64(v) => Some(*v),
        _ => None,
    }
}

fn int_rule(name: &str, value: &Value) -> Option<Check> {
    if let Some(bound) = bound(name) {
        return Some(Check::Int(bound, int_of(value)?));
    }
    Some(match name {
        "const" => Check::IntConst(int_of(value)?),
        "in" | "not_in" => Check::IntIn(
            value.as_list()?.iter().filter_map(int_of).collect(),
            name == "in",
        ),
        _ => return None,
    })
}

fn float_rule(name: &str, value: &Value) -> Option<Check> {
    if let Some(bound) = bound(name) {
        return Some(Check::Float(bound, float_of(value)?));
    }
    Some(match name {
        "const" => Check::FloatConst(float_of(value)?),
        "finite" if value.as_bool() == Some(true) => Check::Finite,
        "in" | "not_in" => Check::FloatIn(
            value.as_list()?.iter().filter_map(float_of).collect(),
            name == "in",
        ),
        _ => return None,
    })
}

/// The message type a field holds: its own, or a map's value type.
pub(super) fn message_kind(field: &FieldDescriptor) -> Option<MessageDescriptor> {
    let Kind::Message(kind) = field.kind() else {
        return None;
    };
    if field.is_map() {
        return match kind.map_entry_value_field().kind() {
            Kind::Message(value) => Some(value),
            _ => None,
        };
    }
    Some(kind)
}
