//! The text of every file `make scaffold` writes for a resource, from the
//! templates under `templates/crud/` (files with `@key@` markers, so this crate's
//! sources hold no doubled braces).

use std::fmt::Write;

use super::fill;
use super::kinds::{self, Database};
use super::names::{Field, Kind, Resource};
use crate::proto_rules::{FieldRule, option};

/// The most characters a text field holds: a `buf.validate` rule in the proto,
/// checked before the service runs, never repeated in biz.
const MAX_TEXT_LEN: u64 = 1000;

// Braces for generated blocks: this crate's sources never double them.
const OPEN: &str = "{";
const CLOSE: &str = "}";

/// The proto: CRUD rpcs with their HTTP rules, the resource's fields, its errors.
pub fn proto(resource: &Resource) -> String {
    let mut fields = String::new();
    for (number, field) in (2..).zip(&resource.fields) {
        let (comment, rules) = match (field.kind, field.optional) {
            // Book is also the update's message: a mask may leave a required
            // text empty, so empty passes here and biz refuses it in a create.
            (Kind::String, false) => (
                format!("  // Up to {MAX_TEXT_LEN} characters, not all blank.\n"),
                option(FieldRule::TextOrEmpty { max: MAX_TEXT_LEN }),
            ),
            (Kind::String, true) => (
                format!("  // Up to {MAX_TEXT_LEN} characters, when set.\n"),
                option(FieldRule::MaxLength { max: MAX_TEXT_LEN }),
            ),
            _ => (String::new(), String::new()),
        };
        let _ = writeln!(
            fields,
            "{comment}  {} {} = {number}{rules};",
            kinds::proto(field),
            field.name
        );
    }
    super::crud_proto(
        &resource.package(),
        &resource.singular,
        &resource.plural,
        &fields,
        resource.fields.len(),
    )
}

/// The common keys of every template.
fn names(resource: &Resource) -> Vec<(&'static str, String)> {
    vec![
        ("type", resource.singular.clone()),
        ("Type", resource.type_name.clone()),
        ("types", resource.plural.clone()),
        ("Types", resource.plural_type.clone()),
        ("UPPER", resource.upper.clone()),
        ("package", resource.package()),
        ("collection", resource.collection()),
        ("api", format!("api::{}::v1", resource.plural)),
    ]
}

fn render(template: &str, resource: &Resource, extra: Vec<(&'static str, String)>) -> String {
    let mut values = extra;
    values.extend(names(resource));
    let pairs: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
    fill(template, &pairs)
}

/// Lines of `each(field)`, one per field, each indented by `indent` spaces.
fn lines(resource: &Resource, indent: usize, each: impl Fn(&Field) -> String) -> String {
    resource
        .fields
        .iter()
        .fold(String::new(), |mut out, field| {
            let _ = writeln!(out, "{:indent$}{}", "", each(field));
            out
        })
}

fn has_timestamp(resource: &Resource) -> bool {
    resource.fields.iter().any(|f| f.kind == Kind::Timestamp)
}

/// The first field that must not be blank: a required string.
fn first_text(resource: &Resource) -> Option<&Field> {
    resource
        .fields
        .iter()
        .find(|f| f.kind == Kind::String && !f.optional)
}

/// `internal/biz/src/<types>.rs`: entity, repository trait, use case, rules, tests.
pub fn biz(resource: &Resource) -> String {
    let name = &resource.singular;
    // The proto bounds every text; biz keeps what the proto cannot say.
    let validations = lines(resource, 4, |f| match (f.kind, f.optional) {
        (Kind::String, false) => format!("not_empty(\"{0}\", &{name}.{0})?;", f.name),
        _ => String::new(),
    });
    let validations: String = validations
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| format!("{line}\n"))
        .collect();
    let has_text = first_text(resource).is_some();
    let validations = if validations.is_empty() {
        format!("    // No rules yet: add them here.\n    let _ = {name};\n")
    } else {
        validations
    };
    let biz_imports = if has_text {
        "use crate::{Error, Result};"
    } else {
        "use crate::Result;"
    };
    let text_rule = if has_text {
        include_str!("../templates/crud/text_rule.rs.txt").to_owned()
    } else {
        String::new()
    };
    let invalid_test = match first_text(resource) {
        Some(field) => fill(
            include_str!("../templates/crud/biz_invalid_test.rs.txt"),
            &[
                ("type", name),
                ("Type", &resource.type_name),
                ("types", &resource.plural),
                ("field", &field.name),
            ],
        ),
        None => String::new(),
    };
    let first = &resource.fields[0];
    // The other fields keep their defaults; with no other field, clippy would
    // call the update needless.
    let rest = if resource.fields.len() > 1 {
        format!("            ..{}Changes::default()\n", resource.type_name)
    } else {
        String::new()
    };
    let (test_imports, sample_time) = if has_timestamp(resource) {
        (
            "    use std::time::{Duration, UNIX_EPOCH};\n\n".to_owned(),
            include_str!("../templates/crud/sample_time.rs.txt").to_owned(),
        )
    } else {
        (String::new(), String::new())
    };
    render(
        include_str!("../templates/crud/biz.rs.txt"),
        resource,
        vec![
            (
                "entity_fields",
                lines(resource, 4, |f| {
                    format!("pub {}: {},", f.name, kinds::biz(f))
                }),
            ),
            (
                "new_fields",
                lines(resource, 4, |f| {
                    format!("pub {}: {},", f.name, kinds::biz(f))
                }),
            ),
            (
                "change_fields",
                lines(resource, 4, |f| {
                    format!("pub {}: Option<{}>,", f.name, kinds::biz(f))
                }),
            ),
            (
                "from_new",
                lines(resource, 12, |f| format!("{0}: new.{0},", f.name)),
            ),
            (
                "apply_changes",
                lines(resource, 8, |f| {
                    [
                        "if let Some(value) = changes.",
                        &f.name,
                        " ",
                        OPEN,
                        " ",
                        name,
                        ".",
                        &f.name,
                        " = value; ",
                        CLOSE,
                    ]
                    .concat()
                }),
            ),
            ("validations", validations),
            ("biz_imports", biz_imports.to_owned()),
            ("text_rule", text_rule),
            ("invalid_test", invalid_test),
            (
                "sample_new",
                lines(resource, 12, |f| {
                    format!("{}: {},", f.name, kinds::sample(f, 0))
                }),
            ),
            (
                "sample_change",
                format!(
                    "            {}: Some({}),\n{rest}",
                    first.name,
                    kinds::sample(first, 1)
                ),
            ),
            (
                "sample_changed",
                format!(
                    "                {}: {},\n",
                    first.name,
                    kinds::sample(first, 1)
                ),
            ),
            ("test_imports", test_imports),
            ("sample_time", sample_time),
        ],
    )
}

/// `internal/biz/src/testing/<types>.rs`: the in-memory fake.
pub fn fake(resource: &Resource) -> String {
    render(
        include_str!("../templates/crud/fake.rs.txt"),
        resource,
        vec![],
    )
}

/// `internal/data/src/<types>.rs`: the repository over sqlx, with its tests.
pub fn data(resource: &Resource, database: Database) -> String {
    let q = |name: &str| database.quote(name);
    let name = &resource.singular;
    let table = q(&resource.plural);
    let mut columns = vec![q("id")];
    columns.extend(resource.fields.iter().map(|f| q(&f.name)));
    columns.extend([q("create_time"), q("update_time")]);
    let columns = columns.join(", ");
    let bind = |f: &Field| format!(".bind({})", kinds::bind(f, &format!("{name}.{}", f.name)));
    // The fields' `.bind` lines, in column order: the insert's and the update's.
    let binds = lines(resource, 12, bind);
    // One `?` per column: the id, the fields, the two times.
    let marks = vec!["?"; resource.fields.len() + 3].join(", ");
    let mut set: Vec<String> = resource
        .fields
        .iter()
        .map(|f| format!("{} = ?", q(&f.name)))
        .collect();
    set.push(format!("{} = ?", q("update_time")));
    let where_id = format!(" WHERE {} = ?", q("id"));
    let first = &resource.fields[0];
    let mut sample_row = String::new();
    for field in &resource.fields {
        let value = match field.kind {
            // The data tests' own time, to the microsecond.
            Kind::Timestamp => kinds::sample(field, 0).replace("sample_time()", "time"),
            _ => kinds::sample(field, 0),
        };
        let _ = writeln!(sample_row, "            {}: {value},", field.name);
    }
    let changed = match first.kind {
        Kind::Timestamp => kinds::sample(first, 1).replace("sample_time()", "time"),
        _ => kinds::sample(first, 1),
    };
    let changed_row = if first.kind == Kind::Timestamp {
        // `time` is the sample's; this test has none of its own.
        format!(
            "            {}: {},\n",
            first.name,
            changed.replace("time +", "created.create_time +")
        )
    } else {
        format!("            {}: {changed},\n", first.name)
    };
    render(
        include_str!("../templates/crud/data.rs.txt"),
        resource,
        vec![
            ("table", resource.plural.clone()),
            ("select", literal(&format!("SELECT {columns} FROM {table}"))),
            (
                "insert",
                literal(&format!("INSERT INTO {table} ({columns}) VALUES ({marks})")),
            ),
            // `format!` puts the SELECT above in front.
            ("get", literal(&format!("{OPEN}SELECT{CLOSE}{where_id}"))),
            ("after_id", literal(&format!(" WHERE {} > ", q("id")))),
            ("order", literal(&format!(" ORDER BY {} LIMIT ", q("id")))),
            (
                "update",
                literal(&format!("UPDATE {table} SET {}{where_id}", set.join(", "))),
            ),
            ("delete", literal(&format!("DELETE FROM {table}{where_id}"))),
            (
                "row_fields",
                lines(resource, 4, |f| format!("{}: {},", f.name, kinds::row(f))),
            ),
            (
                "from_row",
                lines(resource, 12, |f| {
                    format!(
                        "{}: {},",
                        f.name,
                        kinds::from_row(f, &format!("row.{}", f.name))
                    )
                }),
            ),
            ("field_binds", binds),
            ("sample_row", sample_row),
            ("changed_row", changed_row),
        ],
    )
}

/// `text` as a Rust string literal: raw when it holds a double quote.
fn literal(text: &str) -> String {
    if text.contains('"') {
        ["r#\"", text, "\"#"].concat()
    } else {
        ["\"", text, "\""].concat()
    }
}

/// The migration creating the table on `database`.
pub fn migration(resource: &Resource, database: Database) -> String {
    let q = |name: &str| database.quote(name);
    let id = match database {
        Database::Sqlite => "TEXT NOT NULL PRIMARY KEY",
        Database::Postgres => "TEXT COLLATE \"C\" PRIMARY KEY",
        Database::Mysql => "VARCHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY",
    };
    let time = kinds::column(
        &Field {
            name: String::new(),
            kind: Kind::Timestamp,
            optional: false,
        },
        database,
    );
    let mut columns = vec![format!("{} {id}", q("id"))];
    columns.extend(
        resource
            .fields
            .iter()
            .map(|f| format!("{} {}", q(&f.name), kinds::column(f, database))),
    );
    columns.push(format!("{} {time}", q("create_time")));
    columns.push(format!("{} {time}", q("update_time")));
    let suffix = match database {
        Database::Mysql => " DEFAULT CHARACTER SET utf8mb4",
        _ => "",
    };
    format!(
        "-- {plural}, keyed by a UUID v7 string: ids sort in creation order, so pages\n\
         -- follow the id. Written by `make scaffold`.\n\
         CREATE TABLE {table} (\n    {columns}\n){suffix};\n",
        plural = resource.plural_type,
        table = q(&resource.plural),
        columns = columns.join(",\n    "),
    )
}

/// `internal/service/src/<types>.rs`: the api service over the use case.
pub fn service(resource: &Resource) -> String {
    let name = &resource.singular;
    let field_names = resource
        .fields
        .iter()
        .map(|f| format!("\"{}\"", f.name))
        .collect::<Vec<_>>()
        .join(", ");
    // Each helper only where a field uses it: an unused one fails clippy.
    let required_time = resource
        .fields
        .iter()
        .any(|f| f.kind == Kind::Timestamp && !f.optional);
    let mut time_helpers = String::new();
    if required_time {
        time_helpers.push_str(&fill(
            include_str!("../templates/crud/required_time.rs.txt"),
            &[("type", name)],
        ));
    }
    if has_timestamp(resource) {
        time_helpers.push_str(&fill(
            include_str!("../templates/crud/time_helpers.rs.txt"),
            &[("type", name)],
        ));
    }
    render(
        include_str!("../templates/crud/service.rs.txt"),
        resource,
        vec![
            ("field_names", field_names),
            (
                "to_new",
                lines(resource, 12, |f| {
                    let path = format!("{name}.{}", f.name);
                    format!(
                        "{}: {},",
                        f.name,
                        kinds::from_proto(f, &format!("{name}.{}", f.name), &path)
                    )
                }),
            ),
            (
                "to_changes",
                lines(resource, 8, |f| {
                    let value = format!("{name}.{}", f.name);
                    let path = format!("{name}.{}", f.name);
                    match f.kind {
                        Kind::Timestamp => format!(
                            "{0}: named(\"{0}\").then(|| {1}).transpose()?,",
                            f.name,
                            kinds::from_proto(f, &value, &path).trim_end_matches('?'),
                        ),
                        _ => format!("{0}: named(\"{0}\").then_some({value}),", f.name),
                    }
                }),
            ),
            ("time_helpers", time_helpers),
            (
                "to_proto",
                lines(resource, 8, |f| {
                    format!(
                        "{}: {},",
                        f.name,
                        kinds::to_proto(f, &format!("{name}.{}", f.name))
                    )
                }),
            ),
        ],
    )
}

/// `cmd/<name>/tests/<types>.rs`: both transports end to end.
pub fn e2e(resource: &Resource) -> String {
    let first = &resource.fields[0];
    let invalid = match first_text(resource) {
        Some(field) => fill(
            include_str!("../templates/crud/e2e_invalid.rs.txt"),
            &[
                ("type", &resource.singular),
                ("UPPER", &resource.upper),
                ("collection", &resource.collection()),
                ("field", &field.name),
                ("json", &kinds::json_name(&field.name)),
            ],
        ),
        None => String::new(),
    };
    let text_rule = match first_text(resource) {
        Some(field) => fill(
            include_str!("../templates/crud/e2e_text_rule.rs.txt"),
            &[
                ("max", &MAX_TEXT_LEN.to_string()),
                ("over", &(MAX_TEXT_LEN + 1).to_string()),
                ("type", &resource.singular),
                ("collection", &resource.collection()),
                ("field", &field.name),
                ("json", &kinds::json_name(&field.name)),
            ],
        ),
        None => String::new(),
    };
    render(
        include_str!("../templates/crud/e2e.rs.txt"),
        resource,
        vec![
            (
                "sample_json",
                lines(resource, 8, |f| {
                    format!("\"{}\": {},", kinds::json_name(&f.name), kinds::json(f, 0))
                }),
            ),
            (
                "grpc_checks",
                lines(resource, 4, |f| {
                    kinds::grpc_check(f, &format!("over_grpc.{}", f.name))
                }),
            ),
            ("json_types", kinds::json_name(&resource.plural)),
            ("first_field", first.name.clone()),
            ("first_json", kinds::json_name(&first.name)),
            ("changed_json", kinds::json(first, 1).to_owned()),
            ("wrong_json", kinds::json(first, 2).to_owned()),
            ("invalid_e2e", invalid),
            ("text_rule_e2e", text_rule),
        ],
    )
}
