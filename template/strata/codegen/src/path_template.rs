//! `google.api.http` path templates, parsed and turned into axum routes:
//!
//! ```text
//! Template = "/" Segments [ Verb ] ;
//! Segments = Segment { "/" Segment } ;
//! Segment  = "*" | "**" | LITERAL | Variable ;
//! Variable = "{" FieldPath [ "=" Segments ] "}" ;
//! Verb     = ":" LITERAL ;
//! ```
//!
//! `{name}` becomes the axum capture `{name}`, `{note.id}` the capture `{id}`; `{name=shelves/*/books/*}` becomes
//! `shelves/{name_1}/books/{name_3}` and the field is set to the whole matched text
//! again; `**` becomes a catch-all `{*...}`, which axum allows only at the end.

use anyhow::{Result, bail, ensure};

/// Captures (variables' segments and wildcards, not counting a final `**`) one
/// axum route may have.
const MAX_CAPTURES: usize = 25;

/// One segment of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Literal(String),
    /// `*`: one segment.
    Wildcard,
    /// `**`: the rest of the path.
    CatchAll,
    /// `{field.path=segments}`; `{field}` is `{field=*}`.
    Variable {
        field: String,
        segments: Vec<Segment>,
    },
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathTemplate {
    pub segments: Vec<Segment>,
    pub verb: Option<String>,
}

/// What the HTTP path sets: the value of `field` is `parts` joined, where a
/// capture is the text axum matched for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathParam {
    pub field: String,
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Literal(String),
    Capture(String),
}

/// The template as an axum route (`/v1/shelves/{shelf}/books/{book_id}`) and the
/// fields its captures set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub path: String,
    pub params: Vec<PathParam>,
}

impl PathTemplate {
    pub fn parse(template: &str) -> Result<Self> {
        let Some(rest) = template.strip_prefix('/') else {
            bail!("path template {template:?} must start with '/'");
        };
        let (body, verb) = split_verb(rest);
        let mut parser = Parser {
            input: body,
            pos: 0,
            template,
        };
        let segments = parser.segments(false)?;
        ensure!(
            parser.pos == body.len(),
            "path template {template:?}: unexpected {:?} at byte {}",
            &body[parser.pos..],
            parser.pos + 1
        );
        if let Some(verb) = &verb {
            ensure!(
                !verb.is_empty() && verb.chars().all(is_literal_char),
                "path template {template:?}: bad verb {verb:?}"
            );
        }
        let template = Self { segments, verb };
        template.check_catch_all_is_last()?;
        Ok(template)
    }

    /// The axum route and what each capture sets.
    pub fn route(&self) -> Result<Route> {
        let mut path = String::new();
        let mut params = Vec::new();
        let mut anonymous = Vec::new();
        for segment in &self.segments {
            path.push('/');
            match segment {
                Segment::Literal(literal) => path.push_str(literal),
                Segment::Wildcard | Segment::CatchAll => {
                    let name = format!("_{}", anonymous.len());
                    path.push_str(&capture(&name, segment == &Segment::CatchAll));
                    anonymous.push(name);
                }
                Segment::Variable { field, segments } => {
                    let param = variable_route(field, segments, &mut path)?;
                    params.push(param);
                }
            }
        }
        let mut names: Vec<&str> = params
            .iter()
            .flat_map(|param| &param.parts)
            .filter_map(|part| match part {
                Part::Capture(name) => Some(name.as_str()),
                Part::Literal(_) => None,
            })
            // A field named like an anonymous capture (`_0`) would clash too.
            .chain(anonymous.iter().map(String::as_str))
            .collect();
        names.sort_unstable();
        if let Some(pair) = names.windows(2).find(|pair| pair[0] == pair[1]) {
            bail!(
                "two variables of {path} end in the same field name ({}); axum needs distinct \
                 capture names, so rename one field",
                pair[0]
            );
        }
        // matchit renames a route's captures `{a}`, `{b}`, ... and panics once the
        // next name would pass `{z}`, at the 26th (a catch-all is not renamed):
        // refuse here, not at the service's start.
        let captures = path.matches('{').count() - path.matches("{*").count();
        ensure!(
            captures <= MAX_CAPTURES,
            "{path} has {captures} variables and wildcards; axum's router allows at most \
             {MAX_CAPTURES} in one route"
        );
        if let Some(verb) = &self.verb {
            // matchit matches a literal suffix only within a literal segment.
            ensure!(
                matches!(self.segments.last(), Some(Segment::Literal(_))),
                "the custom verb :{verb} follows a variable; axum's router cannot match a \
                 suffix after a capture, so put the verb after a literal segment"
            );
            path.push(':');
            path.push_str(verb);
        }
        Ok(Route { path, params })
    }

    /// Every field path the template binds.
    pub fn fields(&self) -> Vec<&str> {
        self.segments
            .iter()
            .filter_map(|segment| match segment {
                Segment::Variable { field, .. } => Some(field.as_str()),
                _ => None,
            })
            .collect()
    }

    fn check_catch_all_is_last(&self) -> Result<()> {
        let flat: Vec<&Segment> = self
            .segments
            .iter()
            .flat_map(|segment| match segment {
                Segment::Variable { segments, .. } => segments.iter().collect(),
                other => vec![other],
            })
            .collect();
        let catch_all = flat.iter().position(|s| **s == Segment::CatchAll);
        ensure!(
            catch_all.is_none_or(|at| at + 1 == flat.len()),
            "'**' must be the last segment of a path template"
        );
        Ok(())
    }
}

/// Appends the route of `{field=segments}` to `path`.
fn variable_route(field: &str, segments: &[Segment], path: &mut String) -> Result<PathParam> {
    // The capture is named after the field's own name (`id` for `{note.id}`), so
    // `/v1/notes/{id}` and `/v1/notes/{note.id}` share one route shape: axum needs
    // the same capture name at the same place.
    let base = field.rsplit('.').next().unwrap_or(field).to_owned();
    if segments == [Segment::Wildcard] {
        path.push_str(&capture(&base, false));
        return Ok(PathParam {
            field: field.to_owned(),
            parts: vec![Part::Capture(base)],
        });
    }
    let mut parts = Vec::new();
    for (index, segment) in segments.iter().enumerate() {
        if index > 0 {
            path.push('/');
            parts.push(Part::Literal("/".into()));
        }
        match segment {
            Segment::Literal(literal) => {
                path.push_str(literal);
                parts.push(Part::Literal(literal.clone()));
            }
            Segment::Wildcard | Segment::CatchAll => {
                let name = format!("{base}_{index}");
                path.push_str(&capture(&name, segment == &Segment::CatchAll));
                parts.push(Part::Capture(name));
            }
            Segment::Variable { .. } => bail!("variables cannot nest (inside {})", braced(field)),
        }
    }
    Ok(PathParam {
        field: field.to_owned(),
        parts: merge_literals(parts),
    })
}

fn capture(name: &str, catch_all: bool) -> String {
    if catch_all {
        braced(&format!("*{name}"))
    } else {
        braced(name)
    }
}

/// `{text}`. Braces go in as arguments: this crate's sources hold no doubled
/// braces, which cargo-generate would read as Liquid.
pub fn braced(text: &str) -> String {
    const OPEN: char = '{';
    const CLOSE: char = '}';
    format!("{OPEN}{text}{CLOSE}")
}

/// `["shelves", "/"]` -> `["shelves/"]`.
fn merge_literals(parts: Vec<Part>) -> Vec<Part> {
    let mut merged: Vec<Part> = Vec::new();
    for part in parts {
        match (merged.last_mut(), part) {
            (Some(Part::Literal(previous)), Part::Literal(next)) => previous.push_str(&next),
            (_, part) => merged.push(part),
        }
    }
    merged
}

/// Splits `v1/things:batchGet` into the path and the verb. A ':' inside `{...}`
/// is not a verb.
fn split_verb(path: &str) -> (&str, Option<String>) {
    let mut depth = 0usize;
    let mut verb_at = None;
    for (at, c) in path.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            '/' => verb_at = None,
            ':' if depth == 0 => verb_at = Some(at),
            _ => {}
        }
    }
    match verb_at {
        Some(at) => (&path[..at], Some(path[at + 1..].to_owned())),
        None => (path, None),
    }
}

fn is_literal_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~%!$&'()+,;@".contains(c)
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

struct Parser<'a> {
    input: &'a str,
    pos: usize,
    template: &'a str,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.input[self.pos..].chars().next()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn segments(&mut self, in_variable: bool) -> Result<Vec<Segment>> {
        let mut segments = vec![self.segment(in_variable)?];
        while self.eat('/') {
            segments.push(self.segment(in_variable)?);
        }
        Ok(segments)
    }

    fn segment(&mut self, in_variable: bool) -> Result<Segment> {
        if self.eat('*') {
            return Ok(if self.eat('*') {
                Segment::CatchAll
            } else {
                Segment::Wildcard
            });
        }
        if self.peek() == Some('{') {
            ensure!(
                !in_variable,
                "path template {:?}: variables cannot nest",
                self.template
            );
            return self.variable();
        }
        let literal = self.take_while(is_literal_char);
        ensure!(
            !literal.is_empty(),
            "path template {:?}: empty or invalid segment at byte {}",
            self.template,
            self.pos + 2
        );
        Ok(Segment::Literal(literal.to_owned()))
    }

    fn variable(&mut self) -> Result<Segment> {
        self.eat('{');
        let field = self.take_while(|c| is_ident_char(c) || c == '.');
        ensure!(
            !field.is_empty() && field.split('.').all(|part| !part.is_empty()),
            "path template {:?}: a variable needs a field path between its braces, like name or user.id",
            self.template
        );
        let field = field.to_owned();
        let segments = if self.eat('=') {
            self.segments(true)?
        } else {
            vec![Segment::Wildcard]
        };
        ensure!(
            self.eat('}'),
            "path template {:?}: the variable of {field} is not closed",
            self.template
        );
        Ok(Segment::Variable { field, segments })
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> &str {
        let start = self.pos;
        while let Some(c) = self.peek().filter(|c| keep(*c)) {
            self.pos += c.len_utf8();
        }
        &self.input[start..self.pos]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(template: &str) -> Route {
        PathTemplate::parse(template)
            .and_then(|t| t.route())
            .unwrap_or_else(|err| panic!("{template}: {err}"))
    }

    fn capture(name: &str) -> Part {
        Part::Capture(name.into())
    }

    #[test]
    fn a_simple_variable_keeps_its_name() {
        let route = route("/v1/notes/{id}");
        assert_eq!(route.path, "/v1/notes/{id}");
        assert_eq!(
            route.params,
            [PathParam {
                field: "id".into(),
                parts: vec![capture("id")]
            }]
        );
    }

    #[test]
    fn a_nested_field_becomes_one_capture() {
        let route = route("/v1/users/{user.id}/notes");
        assert_eq!(route.path, "/v1/users/{id}/notes");
        assert_eq!(route.params[0].field, "user.id");
    }

    #[test]
    fn a_multi_segment_variable_is_reassembled() {
        let route = route("/v1/{name=shelves/*/books/*}");
        assert_eq!(route.path, "/v1/shelves/{name_1}/books/{name_3}");
        assert_eq!(
            route.params[0].parts,
            [
                Part::Literal("shelves/".into()),
                capture("name_1"),
                Part::Literal("/books/".into()),
                capture("name_3"),
            ]
        );
    }

    #[test]
    fn a_catch_all_is_the_last_capture() {
        let route = route("/v1/files/{path=**}");
        assert_eq!(route.path, "/v1/files/{*path_0}");
        let err = PathTemplate::parse("/v1/{path=**}/meta").expect_err("** in the middle");
        assert!(err.to_string().contains("last segment"), "{err}");
    }

    #[test]
    fn a_verb_after_a_literal_is_part_of_the_route() {
        assert_eq!(route("/v1/notes:batchGet").path, "/v1/notes:batchGet");
        let err = PathTemplate::parse("/v1/{name}:cancel")
            .and_then(|t| t.route())
            .expect_err("verb after a capture");
        assert!(err.to_string().contains(":cancel"), "{err}");
    }

    /// Found by reading what the `path_template` fuzz target checks: an anonymous
    /// `*` is captured as `_0`, so a field of that name clashed with it and axum
    /// would have panicked mounting `/{_0}/{_0}` at startup.
    #[test]
    fn a_field_named_like_an_anonymous_capture_is_refused() {
        let err = PathTemplate::parse("/*/{_0}")
            .and_then(|t| t.route())
            .expect_err("a duplicate capture name");
        assert!(err.to_string().contains("(_0)"), "{err}");
        assert_eq!(route("/*/{id}").path, "/{_0}/{id}");
    }

    /// Found by the `path_template` fuzz target
    /// (`tests/fuzz/regressions/path_template/`): 26 wildcards panicked axum when
    /// the route was mounted at startup.
    #[test]
    fn more_captures_than_axum_allows_are_refused() {
        assert!(route(&"/*".repeat(25)).path.ends_with("{_24}"));
        route(&format!("{}/{{rest=**}}", "/*".repeat(25)));
        let err = PathTemplate::parse(&"/*".repeat(26))
            .and_then(|t| t.route())
            .expect_err("26 captures");
        assert!(err.to_string().contains("at most 25"), "{err}");
    }

    #[test]
    fn malformed_templates_say_what_is_wrong() {
        for (template, says) in [
            ("v1/notes", "must start with '/'"),
            ("/v1/{id", "not closed"),
            ("/v1/{}", "needs a field path"),
            ("/v1//notes", "empty or invalid segment"),
            ("/v1/{a={b}/c}", "cannot nest"),
        ] {
            let err = PathTemplate::parse(template).expect_err(template);
            assert!(err.to_string().contains(says), "{template}: {err}");
        }
    }
}
