//! `google.api.http` path templates, parsed and turned into routes:
//!
//! ```text
//! Template = "/" Segments [ Verb ] ;
//! Segments = Segment { "/" Segment } ;
//! Segment  = "*" | "**" | LITERAL | Variable ;
//! Variable = "{" FieldPath [ "=" Segments ] "}" ;
//! Verb     = ":" LITERAL ;
//! ```
//!
//! A [`Route`] is what the runtime (`strata::transcoding`) matches, segment by
//! segment, so every template the grammar allows is served: a `:verb` after a
//! variable (`/v1/{name=shelves/*}:merge`), `**` with a verb, templates that
//! differ only after a capture. axum's router (matchit) can express none of
//! these, so the generated routes do not go through it. Its `path` is for
//! people and OpenAPI: `{name=shelves/*/books/*}` reads
//! `shelves/{name_1}/books/{name_3}`, `{note.id}` reads `{id}`.

use anyhow::{Result, bail, ensure};

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

/// What a variable of the path sets: `field` is the text of the request's
/// segments `first..end` (of [`Route::segments`]). `parts` spell it for people:
/// literals and the names of the captures in [`Route::path`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathParam {
    pub field: String,
    pub parts: Vec<Part>,
    pub first: usize,
    pub end: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Literal(String),
    Capture(String),
}

/// One segment the runtime matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteSegment {
    /// Exactly this text.
    Literal(String),
    /// Any one non-empty segment.
    One,
    /// One or more segments, to the end of the path (before the verb).
    Rest,
}

/// The template as the runtime matches it and as people read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// `/v1/shelves/{name_1}/books/{name_3}:move`: the OpenAPI path, each
    /// capture named after its field (made unique within the route).
    pub path: String,
    pub segments: Vec<RouteSegment>,
    /// The custom verb after the last segment, without its `:`.
    pub verb: Option<String>,
    /// The fields the path sets.
    pub params: Vec<PathParam>,
}

impl Route {
    /// What the route matches, whatever its variables are called:
    /// `/v1/notes/{id}:undelete` -> `/v1/notes/*:undelete`.
    pub fn shape(&self) -> String {
        let mut shape = String::new();
        for segment in &self.segments {
            shape.push('/');
            match segment {
                RouteSegment::Literal(text) => shape.push_str(text),
                RouteSegment::One => shape.push('*'),
                RouteSegment::Rest => shape.push_str("**"),
            }
        }
        if let Some(verb) = &self.verb {
            shape.push(':');
            shape.push_str(verb);
        }
        shape
    }
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

    /// The route the runtime matches and what each variable sets.
    pub fn route(&self) -> Result<Route> {
        let mut segments = Vec::new();
        let mut params = Vec::new();
        // The path for people: literals and capture names, made unique below.
        let mut shown: Vec<Part> = Vec::new();
        let mut anonymous = 0;
        let mut spelled = Vec::new();
        for segment in &self.segments {
            shown.push(Part::Literal("/".into()));
            match segment {
                Segment::Literal(literal) => {
                    segments.push(RouteSegment::Literal(literal.clone()));
                    shown.push(Part::Literal(literal.clone()));
                }
                Segment::Wildcard | Segment::CatchAll => {
                    segments.push(route_segment(segment));
                    shown.push(Part::Capture(format!("_{anonymous}")));
                    anonymous += 1;
                }
                Segment::Variable {
                    field,
                    segments: inner,
                } => {
                    let param = variable_route(field, inner, &mut segments)?;
                    let at = shown.len();
                    shown.extend(param.parts.iter().cloned());
                    spelled.push(at..shown.len());
                    params.push(param);
                }
            }
        }
        unique_capture_names(&mut shown);
        for (param, range) in params.iter_mut().zip(spelled) {
            param.parts = merge_literals(shown[range].to_vec());
        }
        let mut path: String = shown
            .iter()
            .map(|part| match part {
                Part::Literal(text) => text.clone(),
                Part::Capture(name) => braced(name),
            })
            .collect();
        if let Some(verb) = &self.verb {
            path.push(':');
            path.push_str(verb);
        }
        Ok(Route {
            path,
            segments,
            verb: self.verb.clone(),
            params,
        })
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

/// Appends the segments of `{field=segments}` to `route`.
fn variable_route(
    field: &str,
    segments: &[Segment],
    route: &mut Vec<RouteSegment>,
) -> Result<PathParam> {
    // A capture is named after the field's own name (`id` for `{note.id}`), so
    // `/v1/notes/{id}` and `/v1/notes/{note.id}` read alike in OpenAPI.
    let base = field.rsplit('.').next().unwrap_or(field).to_owned();
    let first = route.len();
    let mut parts = Vec::new();
    for (index, segment) in segments.iter().enumerate() {
        if index > 0 {
            parts.push(Part::Literal("/".into()));
        }
        match segment {
            Segment::Literal(literal) => parts.push(Part::Literal(literal.clone())),
            Segment::Wildcard | Segment::CatchAll if segments.len() == 1 => {
                parts.push(Part::Capture(base.clone()));
            }
            Segment::Wildcard | Segment::CatchAll => {
                parts.push(Part::Capture(format!("{base}_{index}")));
            }
            Segment::Variable { .. } => bail!("variables cannot nest (inside {})", braced(field)),
        }
        route.push(route_segment(segment));
    }
    Ok(PathParam {
        field: field.to_owned(),
        parts,
        first,
        end: route.len(),
    })
}

fn route_segment(segment: &Segment) -> RouteSegment {
    match segment {
        Segment::Literal(literal) => RouteSegment::Literal(literal.clone()),
        Segment::CatchAll => RouteSegment::Rest,
        _ => RouteSegment::One,
    }
}

/// Two captures of one path may not share a name (`{a.id}/{b.id}`, or a field
/// named `_0` beside an anonymous `*`): the later one gets a `_2`, `_3`, ...
/// suffix.
fn unique_capture_names(shown: &mut [Part]) {
    let mut seen = std::collections::BTreeSet::new();
    for part in shown.iter_mut() {
        if let Part::Capture(name) = part {
            let mut unique = name.clone();
            let mut suffix = 2;
            while seen.contains(&unique) {
                unique = format!("{name}_{suffix}");
                suffix += 1;
            }
            *name = unique.clone();
            seen.insert(unique);
        }
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

    fn literal(text: &str) -> RouteSegment {
        RouteSegment::Literal(text.into())
    }

    #[test]
    fn a_simple_variable_keeps_its_name() {
        let route = route("/v1/notes/{id}");
        assert_eq!(route.path, "/v1/notes/{id}");
        assert_eq!(
            route.segments,
            [literal("v1"), literal("notes"), RouteSegment::One]
        );
        assert_eq!(
            route.params,
            [PathParam {
                field: "id".into(),
                parts: vec![capture("id")],
                first: 2,
                end: 3,
            }]
        );
    }

    #[test]
    fn a_nested_field_becomes_one_capture() {
        let route = route("/v1/users/{user.id}/notes");
        assert_eq!(route.path, "/v1/users/{id}/notes");
        assert_eq!(route.params[0].field, "user.id");
        assert_eq!((route.params[0].first, route.params[0].end), (2, 3));
    }

    #[test]
    fn a_multi_segment_variable_spans_its_segments() {
        let route = route("/v1/{name=shelves/*/books/*}");
        assert_eq!(route.path, "/v1/shelves/{name_1}/books/{name_3}");
        assert_eq!(
            route.segments,
            [
                literal("v1"),
                literal("shelves"),
                RouteSegment::One,
                literal("books"),
                RouteSegment::One
            ]
        );
        assert_eq!(
            route.params[0].parts,
            [
                Part::Literal("shelves/".into()),
                capture("name_1"),
                Part::Literal("/books/".into()),
                capture("name_3"),
            ]
        );
        assert_eq!((route.params[0].first, route.params[0].end), (1, 5));
    }

    #[test]
    fn a_catch_all_is_the_last_segment() {
        let route = route("/v1/files/{path=**}");
        assert_eq!(route.path, "/v1/files/{path}");
        assert_eq!(route.segments[2], RouteSegment::Rest);
        let err = PathTemplate::parse("/v1/{path=**}/meta").expect_err("** in the middle");
        assert!(err.to_string().contains("last segment"), "{err}");
    }

    #[test]
    fn a_verb_may_follow_a_literal_a_variable_or_a_catch_all() {
        let batch = route("/v1/notes:batchGet");
        assert_eq!(batch.path, "/v1/notes:batchGet");
        assert_eq!(batch.segments, [literal("v1"), literal("notes")]);
        assert_eq!(batch.verb.as_deref(), Some("batchGet"));

        let moved = route("/v1/{name=shelves/*/books/*}:move");
        assert_eq!(moved.path, "/v1/shelves/{name_1}/books/{name_3}:move");
        assert_eq!(moved.verb.as_deref(), Some("move"));
        assert_eq!(moved.segments.len(), 5);

        assert_eq!(route("/v1/{name}:cancel").path, "/v1/{name}:cancel");
        assert_eq!(
            route("/v1/{name=files/**}:download").segments[2],
            RouteSegment::Rest
        );
    }

    /// Found by reading what the `path_template` fuzz target checks: an
    /// anonymous `*` is shown as `_0`, so a field of that name would have
    /// repeated the name in the OpenAPI path.
    #[test]
    fn capture_names_are_unique_within_a_path() {
        let route = route("/*/{_0}");
        assert_eq!(route.path, "/{_0}/{_0_2}");
        assert_eq!(route.params[0].parts, [capture("_0_2")]);

        let route = self::route("/v1/{a.id}/{b.id}");
        assert_eq!(route.path, "/v1/{id}/{id_2}");
        assert_eq!(route.params[1].parts, [capture("id_2")]);
    }

    /// Found by the `path_template` fuzz target
    /// (`tests/fuzz/regressions/path_template/`): 26 wildcards panicked axum when
    /// the route was mounted at startup. The runtime matches templates itself
    /// now, so any number of captures is served.
    #[test]
    fn any_number_of_captures_is_a_route() {
        let route = route(&"/*".repeat(26));
        assert!(route.path.ends_with("{_25}"), "{}", route.path);
        assert_eq!(route.segments, vec![RouteSegment::One; 26]);
    }

    #[test]
    fn malformed_templates_say_what_is_wrong() {
        for (template, says) in [
            ("v1/notes", "must start with '/'"),
            ("/v1/{id", "not closed"),
            ("/v1/{}", "needs a field path"),
            ("/v1//notes", "empty or invalid segment"),
            ("/v1/{a={b}/c}", "cannot nest"),
            ("/v1/notes:", "bad verb"),
        ] {
            let err = PathTemplate::parse(template).expect_err(template);
            assert!(err.to_string().contains(says), "{template}: {err}");
        }
    }
}
