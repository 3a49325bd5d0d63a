//! What `make scaffold RESOURCE=book FIELDS="title:string pages:int32"` asks for,
//! checked before anything is written: the resource's names and its fields.

use std::fmt;

use anyhow::{Result, bail, ensure};
use heck::{ToShoutySnakeCase, ToUpperCamelCase};

/// The field types a resource may have, as FIELDS spells them.
pub const TYPES: &[&str] = &[
    "string",
    "bool",
    "int32",
    "int64",
    "uint32",
    "double",
    "bytes",
    "timestamp",
];

/// Every field a scaffolded resource has without asking: set by the server.
const SERVER_FIELDS: &[&str] = &["id", "create_time", "update_time"];

/// Names that would read as, or collide with, what the generated code uses: Rust's
/// keywords, the prelude and the types the generated files import.
const RESERVED: &[&str] = &[
    "abstract",
    "as",
    "async",
    "await",
    "become",
    "box",
    "break",
    "const",
    "continue",
    "crate",
    "do",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "final",
    "fn",
    "for",
    "gen",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "macro",
    "match",
    "mod",
    "move",
    "mut",
    "override",
    "priv",
    "pub",
    "ref",
    "return",
    "self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "try",
    "type",
    "typeof",
    "union",
    "unsafe",
    "unsized",
    "use",
    "virtual",
    "where",
    "while",
    "yield",
    "core",
    "std",
    "alloc",
    "test",
    "api",
    "biz",
    "data",
    "service",
    "server",
    "conf",
    "strata",
    "error",
    "result",
    "option",
    "string",
    "vec",
    "request",
    "response",
    "status",
    "code",
    "channel",
    "value",
    "testing",
    "paging",
    "driver",
    "db",
    "pool",
    "timestamp",
    "offset_date_time",
    "system_time",
    "duration",
    "field_mask",
    "empty",
    "query_builder",
    // Names the server and cmd layers already give their locals: a resource's
    // plural names its service there (`let books = ...`).
    "routes",
    "metrics",
    "health",
    "auth",
    "served",
    "router",
    "reflection",
    "max_message",
    "services",
    "options",
    "greeter",
    "welcome",
    "upstreams",
    "clients",
];

/// A field's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Bool,
    Int32,
    Int64,
    Uint32,
    Double,
    Bytes,
    Timestamp,
}

impl Kind {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "string" => Self::String,
            "bool" => Self::Bool,
            "int32" => Self::Int32,
            "int64" => Self::Int64,
            "uint32" => Self::Uint32,
            "double" => Self::Double,
            "bytes" => Self::Bytes,
            "timestamp" => Self::Timestamp,
            _ => return None,
        })
    }
}

/// One field of the resource: `pages:int32`, `subtitle:optional:string`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub kind: Kind,
    pub optional: bool,
}

/// The names of a resource, every one derived from the singular and the plural.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// `book`: module-free singular, the proto field and the error prefix.
    pub singular: String,
    /// `books`: modules, the table, the route and the proto package.
    pub plural: String,
    /// `Book`.
    pub type_name: String,
    /// `Books`.
    pub plural_type: String,
    /// `BOOK`: the prefix of the error reasons.
    pub upper: String,
    pub fields: Vec<Field>,
}

impl Resource {
    /// `resource` (singular, snake_case), with its plural from English rules
    /// unless `plural` is given, and `fields` as FIELDS spells them.
    pub fn parse(resource: &str, plural: Option<&str>, fields: &str) -> Result<Self> {
        check_name("RESOURCE", resource)?;
        let plural = match plural.filter(|p| !p.is_empty()) {
            Some(plural) => {
                check_name("PLURAL", plural)?;
                plural.to_owned()
            }
            None => {
                let singular = pluralizer::pluralize(resource, 1, false);
                ensure!(
                    singular == resource || pluralizer::pluralize(&singular, 2, false) != resource,
                    "RESOURCE={resource} reads as a plural: give the singular (RESOURCE={singular}), \
                     or say PLURAL= if {resource} is the singular"
                );
                pluralizer::pluralize(resource, 2, false)
            }
        };
        check_name("PLURAL", &plural)?;
        ensure!(
            plural != resource,
            "the plural of {resource} is {resource}: the generated code names one and many \
             apart, so give another, e.g. PLURAL={resource}_items"
        );
        let fields = parse_fields(fields)?;
        Ok(Self {
            singular: resource.to_owned(),
            type_name: resource.to_upper_camel_case(),
            plural_type: plural.to_upper_camel_case(),
            upper: resource.to_shouty_snake_case(),
            plural,
            fields,
        })
    }

    /// The proto package: `books.v1`.
    pub fn package(&self) -> String {
        format!("{}.v1", self.plural)
    }

    /// The proto file, relative to the service's api folder:
    /// `books/v1/book.proto`.
    pub fn proto(&self) -> String {
        format!("{}/v1/{}.proto", self.plural, self.singular)
    }

    /// The collection's route: `/v1/books`.
    pub fn collection(&self) -> String {
        format!("/v1/{}", self.plural)
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let optional = if self.optional { "optional:" } else { "" };
        let kind = TYPES[self.kind as usize];
        write!(f, "{}:{optional}{kind}", self.name)
    }
}

/// A lowercase snake_case identifier that no generated code trips over.
fn check_name(what: &str, name: &str) -> Result<()> {
    let snake = name.split('_').all(|part| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    }) && name.starts_with(|c: char| c.is_ascii_lowercase());
    ensure!(
        snake,
        "{what}={name:?} is not a lowercase snake_case name: use a-z, 0-9 and single `_` \
         between words, starting with a letter (e.g. book, line_item)"
    );
    ensure!(
        !RESERVED.contains(&name),
        "{what}={name} is a Rust keyword or a name the generated code already uses; \
         these are taken: {}",
        RESERVED.join(", ")
    );
    Ok(())
}

/// `title:string pages:int32 subtitle:optional:string`, separated by spaces or commas.
fn parse_fields(fields: &str) -> Result<Vec<Field>> {
    let usage = format!(
        "each field is name:type or name:optional:type, with type one of: {}",
        TYPES.join(", ")
    );
    let mut parsed: Vec<Field> = Vec::new();
    for spec in fields
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|s| !s.is_empty())
    {
        let parts: Vec<&str> = spec.split(':').collect();
        let (name, optional, kind) = match parts.as_slice() {
            [name, kind] => (*name, false, *kind),
            [name, "optional", kind] => (*name, true, *kind),
            _ => bail!("FIELDS: {spec:?} is not a field; {usage}"),
        };
        check_name("a field name in FIELDS,", name)?;
        ensure!(
            !SERVER_FIELDS.contains(&name),
            "FIELDS: {name} is set by the server already (every resource has {}); pick another name",
            SERVER_FIELDS.join(", ")
        );
        ensure!(
            parsed.iter().all(|field| field.name != name),
            "FIELDS: {name} is given twice"
        );
        let Some(kind) = Kind::parse(kind) else {
            bail!("FIELDS: {spec:?} has the unknown type {kind:?}; {usage}");
        };
        parsed.push(Field {
            name: name.to_owned(),
            kind,
            optional,
        });
    }
    ensure!(
        !parsed.is_empty(),
        "FIELDS is empty; give at least one field, e.g. FIELDS=\"title:string pages:int32\" ({usage})"
    );
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plural_of(resource: &str) -> String {
        Resource::parse(resource, None, "a:string")
            .expect("valid")
            .plural
    }

    #[test]
    fn plurals_follow_english() {
        for (singular, plural) in [
            ("book", "books"),
            ("shelf", "shelves"),
            ("library", "libraries"),
            ("day", "days"),
            ("fox", "foxes"),
            ("bus", "buses"),
            ("person", "people"),
            ("child", "children"),
            ("address", "addresses"),
            ("line_item", "line_items"),
            ("category", "categories"),
        ] {
            assert_eq!(plural_of(singular), plural, "{singular}");
        }
    }

    #[test]
    fn names_derive_from_singular_and_plural() {
        let resource = Resource::parse("line_item", Some("line_items"), "qty:int32").expect("ok");
        assert_eq!(resource.type_name, "LineItem");
        assert_eq!(resource.plural_type, "LineItems");
        assert_eq!(resource.upper, "LINE_ITEM");
        assert_eq!(resource.proto(), "line_items/v1/line_item.proto");
        assert_eq!(resource.collection(), "/v1/line_items");
    }

    #[test]
    fn plural_overrides_the_rules() {
        let resource = Resource::parse("cactus", Some("cactuses"), "a:bool").expect("ok");
        assert_eq!(resource.plural, "cactuses");
    }

    #[test]
    fn a_plural_resource_is_refused_with_the_singular() {
        let err = Resource::parse("shelves", None, "a:bool").expect_err("plural");
        assert!(err.to_string().contains("RESOURCE=shelf"), "{err}");
        assert!(Resource::parse("shelves", Some("shelveses"), "a:bool").is_ok());
    }

    #[test]
    fn a_plural_like_the_singular_is_refused() {
        let err = Resource::parse("news", None, "a:bool").expect_err("uncountable");
        assert!(err.to_string().contains("PLURAL=news_items"), "{err}");
        assert!(Resource::parse("news", Some("news_items"), "a:bool").is_ok());
    }

    #[test]
    fn fields_parse_with_optional() {
        let resource = Resource::parse(
            "book",
            None,
            "title:string, pages:int32 subtitle:optional:string at:timestamp",
        )
        .expect("ok");
        let fields: Vec<String> = resource.fields.iter().map(ToString::to_string).collect();
        assert_eq!(
            fields,
            [
                "title:string",
                "pages:int32",
                "subtitle:optional:string",
                "at:timestamp"
            ]
        );
    }

    #[test]
    fn refusals_say_what_is_allowed() {
        for (resource, fields, says) in [
            ("Book", "a:string", "snake_case"),
            ("1book", "a:string", "snake_case"),
            ("book_", "a:string", "snake_case"),
            ("type", "a:string", "these are taken"),
            (
                "book",
                "a:float",
                "string, bool, int32, int64, uint32, double, bytes, timestamp",
            ),
            ("book", "a", "name:optional:type"),
            ("book", "id:string", "set by the server"),
            ("book", "a:string a:bool", "given twice"),
            ("book", "match:string", "these are taken"),
            ("book", "", "FIELDS is empty"),
        ] {
            let err = Resource::parse(resource, None, fields).expect_err(resource);
            assert!(err.to_string().contains(says), "{resource} {fields}: {err}");
        }
    }
}
