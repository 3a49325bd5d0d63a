//! How each field type reads in every layer: proto, biz, SQL, the row, tests.

use super::names::{Field, Kind};

/// The database the repository was generated with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Database {
    Sqlite,
    Postgres,
    Mysql,
}

impl Database {
    pub const ALL: [(&'static str, Self); 3] = [
        ("sqlite", Self::Sqlite),
        ("postgres", Self::Postgres),
        ("mysql", Self::Mysql),
    ];

    /// `name` quoted as an SQL identifier, so a column may be called `order`.
    pub fn quote(self, name: &str) -> String {
        match self {
            Self::Postgres => format!("\"{name}\""),
            Self::Sqlite | Self::Mysql => format!("`{name}`"),
        }
    }
}

/// The proto type: `string`, `google.protobuf.Timestamp`.
pub fn proto(field: &Field) -> String {
    let kind = match field.kind {
        Kind::String => "string",
        Kind::Bool => "bool",
        Kind::Int32 => "int32",
        Kind::Int64 => "int64",
        Kind::Uint32 => "uint32",
        Kind::Double => "double",
        Kind::Bytes => "bytes",
        // A message field has presence already: `optional` would add nothing.
        Kind::Timestamp => return "google.protobuf.Timestamp".to_owned(),
    };
    if field.optional {
        format!("optional {kind}")
    } else {
        kind.to_owned()
    }
}

/// The biz type: `String`, `SystemTime`, `Option<i32>`.
pub fn biz(field: &Field) -> String {
    let kind = match field.kind {
        Kind::String => "String",
        Kind::Bool => "bool",
        Kind::Int32 => "i32",
        Kind::Int64 => "i64",
        Kind::Uint32 => "u32",
        Kind::Double => "f64",
        Kind::Bytes => "Vec<u8>",
        Kind::Timestamp => "SystemTime",
    };
    optional(field, kind)
}

/// The type of the row's column in data: what sqlx reads on every database.
/// uint32 is kept as a BIGINT (PostgreSQL has no unsigned types).
pub fn row(field: &Field) -> String {
    let kind = match field.kind {
        Kind::Uint32 => "i64",
        Kind::Timestamp => "OffsetDateTime",
        _ => return biz(field),
    };
    optional(field, kind)
}

fn optional(field: &Field, kind: &str) -> String {
    if field.optional {
        format!("Option<{kind}>")
    } else {
        kind.to_owned()
    }
}

/// The column's SQL type on `database`, NULL or NOT NULL.
pub fn column(field: &Field, database: Database) -> String {
    use Database::{Mysql, Postgres, Sqlite};
    let kind = match (field.kind, database) {
        (Kind::String, _) => "TEXT",
        (Kind::Bool, _) => "BOOLEAN",
        (Kind::Int32, Mysql) => "INT",
        (Kind::Int32, _) => "INTEGER",
        (Kind::Int64 | Kind::Uint32, Sqlite) => "INTEGER",
        (Kind::Int64 | Kind::Uint32, _) => "BIGINT",
        (Kind::Double, Sqlite) => "REAL",
        (Kind::Double, Postgres) => "DOUBLE PRECISION",
        (Kind::Double, Mysql) => "DOUBLE",
        (Kind::Bytes, Sqlite) => "BLOB",
        (Kind::Bytes, Postgres) => "BYTEA",
        (Kind::Bytes, Mysql) => "LONGBLOB",
        (Kind::Timestamp, Sqlite) => "TEXT",
        (Kind::Timestamp, Postgres) => "TIMESTAMPTZ",
        (Kind::Timestamp, Mysql) => "DATETIME(6)",
    };
    if field.optional {
        kind.to_owned()
    } else {
        format!("{kind} NOT NULL")
    }
}

/// The value bound for the column, from `value` (a biz value, by reference).
pub fn bind(field: &Field, value: &str) -> String {
    match (field.kind, field.optional) {
        (Kind::Bool | Kind::Int32 | Kind::Int64 | Kind::Double, _) => value.to_owned(),
        (Kind::Uint32, false) => format!("i64::from({value})"),
        (Kind::Uint32, true) => format!("{value}.map(i64::from)"),
        (Kind::Timestamp, false) => format!("OffsetDateTime::from({value})"),
        (Kind::Timestamp, true) => format!("{value}.map(OffsetDateTime::from)"),
        (Kind::String | Kind::Bytes, _) => format!("&{value}"),
    }
}

/// The biz value from the row's `value`.
pub fn from_row(field: &Field, value: &str) -> String {
    // Only values from u32 are ever written, so the conversion cannot fail.
    match (field.kind, field.optional) {
        (Kind::Uint32, false) => format!("u32::try_from({value}).unwrap_or(u32::MAX)"),
        (Kind::Uint32, true) => {
            format!("{value}.map(|value| u32::try_from(value).unwrap_or(u32::MAX))")
        }
        (Kind::Timestamp, false) => format!("{value}.into()"),
        (Kind::Timestamp, true) => format!("{value}.map(Into::into)"),
        _ => value.to_owned(),
    }
}

/// The proto value from the biz `value`.
pub fn to_proto(field: &Field, value: &str) -> String {
    match (field.kind, field.optional) {
        (Kind::Timestamp, false) => format!("Some({value}.into())"),
        (Kind::Timestamp, true) => format!("{value}.map(Into::into)"),
        _ => value.to_owned(),
    }
}

/// The biz value from the proto `value`, for the request field `path`: a
/// timestamp is checked (and required unless optional); `?` returns the error.
pub fn from_proto(field: &Field, value: &str, path: &str) -> String {
    match (field.kind, field.optional) {
        (Kind::Timestamp, false) => format!("required_time({value}, \"{path}\")?"),
        (Kind::Timestamp, true) => {
            format!("{value}.map(|time| to_time(time, \"{path}\")).transpose()?")
        }
        _ => value.to_owned(),
    }
}

/// A valid biz value for tests (`variant` 0) and a different one (1).
pub fn sample(field: &Field, variant: usize) -> String {
    let value = match (field.kind, variant) {
        (Kind::String, 0) => "\"sample\".to_owned()".to_owned(),
        (Kind::String, _) => "\"changed\".to_owned()".to_owned(),
        (Kind::Bool, 0) => "true".to_owned(),
        (Kind::Bool, _) => "false".to_owned(),
        (Kind::Int32 | Kind::Int64 | Kind::Uint32, 0) => "7".to_owned(),
        (Kind::Int32 | Kind::Int64 | Kind::Uint32, _) => "8".to_owned(),
        (Kind::Double, 0) => "1.5".to_owned(),
        (Kind::Double, _) => "2.5".to_owned(),
        (Kind::Bytes, 0) => "vec![1, 2, 3]".to_owned(),
        (Kind::Bytes, _) => "vec![4]".to_owned(),
        (Kind::Timestamp, 0) => "sample_time()".to_owned(),
        (Kind::Timestamp, _) => "sample_time() + Duration::from_secs(1)".to_owned(),
    };
    if field.optional {
        format!("Some({value})")
    } else {
        value
    }
}

/// The proto3 JSON of the e2e sample (0), of a changed value (1), and of a
/// value of the wrong type (2).
pub fn json(field: &Field, variant: usize) -> &'static str {
    match (field.kind, variant) {
        (Kind::String, 0) => "\"sample\"",
        (Kind::String, 1) => "\"changed\"",
        (Kind::String, _) => "5",
        (Kind::Bool, 0) => "true",
        (Kind::Bool, 1) => "false",
        (Kind::Int32 | Kind::Uint32, 0) => "7",
        (Kind::Int32 | Kind::Uint32, 1) => "8",
        (Kind::Double, 0) => "1.5",
        (Kind::Double, 1) => "2.5",
        // proto3 JSON sends 64-bit integers as strings.
        (Kind::Int64, 0) => "\"7\"",
        (Kind::Int64, 1) => "\"8\"",
        (Kind::Bool | Kind::Int32 | Kind::Int64 | Kind::Uint32 | Kind::Double, _) => "\"many\"",
        (Kind::Bytes, 0) => "\"AQID\"",
        (Kind::Bytes, 1) => "\"BA==\"",
        (Kind::Bytes, _) => "5",
        (Kind::Timestamp, 0) => "\"2026-01-02T03:04:05.678901Z\"",
        (Kind::Timestamp, 1) => "\"2026-02-03T04:05:06Z\"",
        (Kind::Timestamp, _) => "\"yesterday\"",
    }
}

/// An assertion that the gRPC reply's `value` holds the e2e sample.
pub fn grpc_check(field: &Field, value: &str) -> String {
    let expected = match field.kind {
        Kind::String => "\"sample\"",
        Kind::Bool => "true",
        Kind::Int32 | Kind::Int64 | Kind::Uint32 => "7",
        Kind::Double => "1.5",
        Kind::Bytes => "[1, 2, 3]",
        Kind::Timestamp => {
            return format!(
                "assert_eq!({value}.map(|time| time.to_string()).as_deref(), Some({}));",
                json(field, 0)
            );
        }
    };
    match (field.kind, field.optional) {
        (Kind::Bool, false) => format!("assert!({value});"),
        (Kind::String, true) => format!("assert_eq!({value}.as_deref(), Some({expected}));"),
        (Kind::Bytes, true) => format!("assert_eq!({value}.as_deref(), Some(&{expected}[..]));"),
        (_, true) => format!("assert_eq!({value}, Some({expected}));"),
        (_, false) => format!("assert_eq!({value}, {expected});"),
    }
}

/// The JSON name proto3 gives `name`: `published_at` is `publishedAt`.
pub fn json_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}
