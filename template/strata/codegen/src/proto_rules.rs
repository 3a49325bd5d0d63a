//! `buf.validate` rules as proto text, for the scaffolding that writes protos
//! (`proto-add`, `scaffold`): one function per rule shape, so every generated
//! proto spells a rule the same way and `strata::validate` evaluates it.

/// A rule a scaffolded field carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldRule {
    /// A string of `min` to `max` characters.
    Length { min: u64, max: u64 },
    /// A string of `min` to `max` characters with a non-blank character.
    Text { min: u64, max: u64 },
    /// Empty, or else up to `max` characters with a non-blank character: a field
    /// of a message shared by create and update, whose update mask may leave it
    /// alone (empty).
    TextOrEmpty { max: u64 },
    /// A string of at most `max` characters.
    MaxLength { max: u64 },
    /// An int32 from `min` to `max`, both included.
    Int32Range { min: i32, max: i32 },
    /// A message field that must be set.
    Required,
}

/// Braces as constants: this crate's sources hold no doubled braces, which
/// cargo-generate would read as Liquid.
const OPEN: char = '{';
const CLOSE: char = '}';

/// The field option for `rule`, with its leading space: appended to a field
/// declaration before the `;` (`string title = 1` + this + `;`).
pub fn option(rule: FieldRule) -> String {
    match rule {
        FieldRule::Length { min, max } => {
            format!(" [(buf.validate.field).string = {OPEN}min_len: {min}, max_len: {max}{CLOSE}]")
        }
        FieldRule::Text { min, max } => format!(
            " [(buf.validate.field).string = {OPEN}min_len: {min}, max_len: {max}, pattern: \"\\\\S\"{CLOSE}]"
        ),
        FieldRule::TextOrEmpty { max } => format!(
            " [\n    (buf.validate.field).string = {OPEN}max_len: {max}, pattern: \"\\\\S\"{CLOSE},\n    \
             (buf.validate.field).ignore = IGNORE_IF_ZERO_VALUE\n  ]"
        ),
        FieldRule::MaxLength { max } => format!(" [(buf.validate.field).string.max_len = {max}]"),
        FieldRule::Int32Range { min, max } => {
            format!(" [(buf.validate.field).int32 = {OPEN}gte: {min}, lte: {max}{CLOSE}]")
        }
        FieldRule::Required => " [(buf.validate.field).required = true]".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spells_each_rule_as_a_field_option() {
        assert_eq!(
            option(FieldRule::Text { min: 1, max: 200 }),
            r#" [(buf.validate.field).string = {min_len: 1, max_len: 200, pattern: "\\S"}]"#
        );
        assert_eq!(
            option(FieldRule::Int32Range { min: 0, max: 100 }),
            " [(buf.validate.field).int32 = {gte: 0, lte: 100}]"
        );
        assert_eq!(
            option(FieldRule::TextOrEmpty { max: 1000 }),
            " [\n    (buf.validate.field).string = {max_len: 1000, pattern: \"\\\\S\"},\n    \
             (buf.validate.field).ignore = IGNORE_IF_ZERO_VALUE\n  ]"
        );
        assert_eq!(
            option(FieldRule::MaxLength { max: 1000 }),
            " [(buf.validate.field).string.max_len = 1000]"
        );
        assert_eq!(
            option(FieldRule::Required),
            " [(buf.validate.field).required = true]"
        );
    }
}
