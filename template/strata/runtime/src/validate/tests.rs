use std::sync::LazyLock;

use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, Value};
use tonic::Code;
use tonic_types::StatusExt;

use super::Rules;
use crate::error::Error;

const FIXTURE: &str = r#"
syntax = "proto3";
package test.v1;
import "buf/validate/validate.proto";

enum Color {
  COLOR_UNSPECIFIED = 0;
  COLOR_RED = 1;
}

message Page {
  string title = 1 [(buf.validate.field).string = {min_len: 1, max_len: 5, pattern: "\\S"}];
  int32 size = 2 [(buf.validate.field).int32 = {gte: 0, lte: 100}];
  optional string note = 3 [(buf.validate.field).string.max_len = 2];
  string tag = 4 [(buf.validate.field).string.min_len = 3, (buf.validate.field).ignore = IGNORE_IF_ZERO_VALUE];
  repeated string labels = 5 [(buf.validate.field).repeated = {max_items: 2, unique: true, items: {string: {min_len: 2}}}];
  Color color = 6 [(buf.validate.field).enum.defined_only = true];
  double ratio = 7 [(buf.validate.field).double = {gt: 0, lt: 1}];
  string id = 8 [(buf.validate.field).string.uuid = true, (buf.validate.field).ignore = IGNORE_IF_ZERO_VALUE];
}

message Wrapper {
  Page page = 1 [(buf.validate.field).required = true];
  repeated Page more = 2;
}

message Plain {
  string anything = 1;
}

message Fancy {
  string email = 1 [(buf.validate.field).string.email = true];
}

// Plain strings only: checked from the bytes, without a reflection message.
message Names {
  string name = 3 [(buf.validate.field).string = {min_len: 1, max_len: 4, pattern: "\\S"}];
  string code = 1 [(buf.validate.field).required = true, (buf.validate.field).string.prefix = "c-"];
  string tag = 2 [(buf.validate.field).string.len = 2, (buf.validate.field).ignore = IGNORE_IF_ZERO_VALUE];
  string free = 4;
  string never = 5 [(buf.validate.field).string.len = 9, (buf.validate.field).ignore = IGNORE_ALWAYS];
}
"#;

static POOL: LazyLock<DescriptorPool> = LazyLock::new(|| {
    let mut files = protox::file::ChainFileResolver::new();
    files.add(Fixture);
    files.add(protox::file::GoogleFileResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(files);
    compiler.open_file("test.proto").expect("fixture compiles");
    compiler.descriptor_pool()
});

static RULES: LazyLock<Rules> = LazyLock::new(|| Rules::new(&POOL));

struct Fixture;

impl protox::file::FileResolver for Fixture {
    fn open_file(&self, name: &str) -> Result<protox::file::File, protox::Error> {
        match name {
            "test.proto" => protox::file::File::from_source(name, FIXTURE),
            "buf/validate/validate.proto" => protox::file::File::from_source(
                name,
                include_str!("../../../../third_party/buf/validate/validate.proto"),
            ),
            _ => Err(protox::Error::file_not_found(name)),
        }
    }
}

fn descriptor(name: &str) -> MessageDescriptor {
    POOL.get_message_by_name(name).expect("fixture message")
}

/// A valid page, then `set` applied.
fn page(set: &[(&str, Value)]) -> DynamicMessage {
    let mut page = DynamicMessage::new(descriptor("test.v1.Page"));
    page.set_field_by_name("title", Value::String("ok".into()));
    page.set_field_by_name("ratio", Value::F64(0.5));
    for (field, value) in set {
        page.set_field_by_name(field, value.clone());
    }
    page
}

/// The (field, rule) of every violation, or the error if it is not a 400.
fn violations(message: &DynamicMessage) -> Vec<(String, String)> {
    match RULES.check_dynamic(message) {
        Ok(()) => Vec::new(),
        Err(error) => {
            assert_eq!(error.code(), 400, "{error}");
            error
                .violations()
                .iter()
                .map(|v| (v.field.clone(), v.rule.clone()))
                .collect()
        }
    }
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(f, r)| ((*f).to_owned(), (*r).to_owned()))
        .collect()
}

#[test]
fn a_valid_message_passes() {
    assert_eq!(violations(&page(&[])), pairs(&[]));
}

#[test]
fn an_empty_string_breaks_its_length_and_pattern_rules() {
    let empty = page(&[("title", Value::String(String::new()))]);
    assert_eq!(
        violations(&empty),
        pairs(&[("title", "string.min_len"), ("title", "string.pattern")])
    );
}

#[test]
fn lengths_count_characters_not_bytes() {
    let five = page(&[("title", Value::String("ééééé".into()))]);
    let six = page(&[("title", Value::String("abcdef".into()))]);
    assert_eq!(violations(&five), pairs(&[]));
    assert_eq!(violations(&six), pairs(&[("title", "string.max_len")]));
}

#[test]
fn integer_bounds_hold_at_the_edges_and_break_past_them() {
    for ok in [0, 100] {
        assert_eq!(violations(&page(&[("size", Value::I32(ok))])), pairs(&[]));
    }
    assert_eq!(
        violations(&page(&[("size", Value::I32(-1))])),
        pairs(&[("size", "int32.gte")])
    );
    assert_eq!(
        violations(&page(&[("size", Value::I32(101))])),
        pairs(&[("size", "int32.lte")])
    );
}

#[test]
fn float_bounds_refuse_nan() {
    assert_eq!(
        violations(&page(&[("ratio", Value::F64(f64::NAN))])),
        pairs(&[("ratio", "double.lt"), ("ratio", "double.gt")])
    );
}

#[test]
fn optional_and_ignored_fields_are_checked_only_when_set() {
    assert_eq!(violations(&page(&[])), pairs(&[]), "unset note and tag");
    assert_eq!(
        violations(&page(&[("note", Value::String("long".into()))])),
        pairs(&[("note", "string.max_len")])
    );
    assert_eq!(
        violations(&page(&[("tag", Value::String("x".into()))])),
        pairs(&[("tag", "string.min_len")])
    );
}

#[test]
fn repeated_fields_check_size_uniqueness_and_each_item() {
    let labels =
        |items: &[&str]| Value::List(items.iter().map(|s| Value::String((*s).into())).collect());
    assert_eq!(
        violations(&page(&[("labels", labels(&["ab", "x"]))])),
        pairs(&[("labels[1]", "string.min_len")])
    );
    assert_eq!(
        violations(&page(&[("labels", labels(&["ab", "ab", "cd"]))])),
        pairs(&[
            ("labels", "repeated.max_items"),
            ("labels", "repeated.unique")
        ])
    );
}

#[test]
fn enums_and_uuids_have_their_rules() {
    assert_eq!(
        violations(&page(&[("color", Value::EnumNumber(7))])),
        pairs(&[("color", "enum.defined_only")])
    );
    assert_eq!(
        violations(&page(&[("id", Value::String("not-a-uuid".into()))])),
        pairs(&[("id", "string.uuid")])
    );
    let uuid = "0192f3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b";
    assert_eq!(
        violations(&page(&[("id", Value::String(uuid.into()))])),
        pairs(&[])
    );
}

#[test]
fn nested_messages_are_checked_with_their_path() {
    let mut wrapper = DynamicMessage::new(descriptor("test.v1.Wrapper"));
    assert_eq!(violations(&wrapper), pairs(&[("page", "required")]));

    wrapper.set_field_by_name("page", Value::Message(page(&[("size", Value::I32(-1))])));
    let bad = page(&[("title", Value::String("toolong".into()))]);
    wrapper.set_field_by_name(
        "more",
        Value::List(vec![Value::Message(page(&[])), Value::Message(bad)]),
    );
    assert_eq!(
        violations(&wrapper),
        pairs(&[
            ("page.size", "int32.gte"),
            ("more[1].title", "string.max_len")
        ])
    );
}

#[test]
fn a_message_without_rules_is_not_looked_at() {
    assert!(!RULES.checks("test.v1.Plain"));
    assert!(RULES.checks("test.v1.Wrapper"), "through its page field");
}

#[test]
fn a_rule_this_release_does_not_evaluate_refuses_with_internal() {
    let mut fancy = DynamicMessage::new(descriptor("test.v1.Fancy"));
    fancy.set_field_by_name("email", Value::String("a@b.c".into()));
    let error = RULES.check_dynamic(&fancy).expect_err("unsupported");
    assert_eq!(error.code(), 500);
    assert!(error.message().contains("string.email"), "{error}");
}

#[test]
fn a_refusal_is_invalid_argument_with_one_field_violation_per_rule() {
    let empty = page(&[
        ("title", Value::String(String::new())),
        ("size", Value::I32(200)),
    ]);
    let status = RULES
        .check("test.v1.Page", &empty)
        .expect_err("three broken rules");
    assert_eq!(status.code(), Code::InvalidArgument);
    let details = status.get_error_details();
    let info = details.error_info().expect("ErrorInfo");
    assert_eq!(info.reason, "INVALID_ARGUMENT");
    assert_eq!(
        info.metadata.get("field").map(String::as_str),
        Some("title")
    );
    let fields: Vec<(&str, &str)> = details
        .bad_request()
        .expect("BadRequest")
        .field_violations
        .iter()
        .map(|v| (v.field.as_str(), v.reason.as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            ("title", "string.min_len"),
            ("title", "string.pattern"),
            ("size", "int32.lte")
        ]
    );
    assert_eq!(
        Error::from(status).violations().len(),
        3,
        "survives the trip"
    );
}

#[test]
fn a_refusal_lists_at_most_32_violations_and_counts_the_rest() {
    let many = Value::List((0..40).map(|_| Value::String("x".into())).collect());
    let error = RULES
        .check_dynamic(&page(&[("labels", many)]))
        .expect_err("40 short labels");

    // max_items and unique, then 30 of the 40 short items.
    assert_eq!(error.violations().len(), 32);
    assert!(error.message().ends_with("; and 10 more"), "{error}");
}

#[test]
fn plain_strings_are_checked_from_the_bytes_as_from_a_reflection_message() {
    assert!(RULES.messages["test.v1.Names"].strings.is_some());
    for other in ["test.v1.Page", "test.v1.Wrapper"] {
        assert!(RULES.messages[other].strings.is_none(), "{other}");
    }
    // A rule this release does not evaluate is reported the same way.
    let mut fancy = DynamicMessage::new(descriptor("test.v1.Fancy"));
    fancy.set_field_by_name("email", Value::String("a@b.c".to_owned()));
    let expected = RULES.check_dynamic(&fancy).expect_err("unsupported");
    let checked = RULES
        .check("test.v1.Fancy", &fancy)
        .expect_err("unsupported");
    assert_eq!(checked.message(), expected.to_status().message());
    let texts = [
        "",
        " ",
        "a",
        "c-",
        "c-x",
        "ab",
        "abcde",
        "日本語",
        "é\u{301}",
    ];
    for name in texts {
        for code in texts {
            for tag in texts {
                let mut names = DynamicMessage::new(descriptor("test.v1.Names"));
                for (field, text) in [("name", name), ("code", code), ("tag", tag)] {
                    names.set_field_by_name(field, Value::String(text.to_owned()));
                }
                names.set_field_by_name("never", Value::String("x".to_owned()));
                let expected = RULES.check_dynamic(&names).map_err(|e| e.to_status());
                let checked = RULES.check("test.v1.Names", &names);
                let seen = |result: &Result<(), tonic::Status>| {
                    result.as_ref().err().map(|status| {
                        (
                            status.code(),
                            status.message().to_owned(),
                            status.details().to_vec(),
                        )
                    })
                };
                assert_eq!(seen(&checked), seen(&expected), "{name:?} {code:?} {tag:?}");
            }
        }
    }
}
