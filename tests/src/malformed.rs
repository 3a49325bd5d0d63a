//! A deterministic corpus of malformed requests for both transports: the same
//! cases, in the same order, on every run.

/// A route that reads a JSON body, with a body it accepts. Every malformed
/// variant of that body (broken syntax, wrong types, huge numbers, invalid UTF-8,
/// deep nesting, oversized, wrong Content-Type) is sent to it.
#[derive(Debug, Clone, Copy)]
pub struct JsonRoute {
    pub method: &'static str,
    pub path: &'static str,
    pub valid_body: &'static str,
}

/// One HTTP request of the corpus.
#[derive(Debug, Clone)]
pub struct HttpCase {
    /// What the case is, for failure messages.
    pub label: String,
    pub method: &'static str,
    pub target: Vec<u8>,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// One gRPC request of the corpus: a method path and the raw request body.
#[derive(Debug, Clone)]
pub struct GrpcCase {
    pub label: String,
    pub path: String,
    pub body: Vec<u8>,
}

/// A small linear congruential generator: the corpus needs variety, not quality.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}

/// Bodies that are not the JSON object `valid_body` is.
pub fn malformed_bodies(valid_body: &str) -> Vec<(String, Vec<u8>)> {
    let mut bodies: Vec<(String, Vec<u8>)> = Vec::new();
    let mut add = |label: String, body: Vec<u8>| bodies.push((label, body));
    let valid = valid_body.as_bytes();
    for cut in 0..valid.len() {
        add(format!("truncated at {cut}"), valid[..cut].to_vec());
    }
    for broken in [
        "{",
        "}",
        "{,}",
        "{\"a\":}",
        "{'a':1}",
        "{\"a\" 1}",
        "{\"a\":1,}",
        "[1,]",
        "nul",
        "tru",
        "\"unterminated",
        "{\"a\":\"\\x\"}",
        "{\"a\":NaN}",
        "{\"a\":Infinity}",
        "{/*c*/}",
        "{\"a\":1}}",
        "{\"a\":\"\\ud800\"}",
        "\u{0}",
        "{\"a\":01}",
        "{\"a\":1.}",
        "{\"a\":-}",
        "{\"a\":+1}",
        "{\"a\":.5}",
        "{\"a\":1e}",
        "{\"a\":0x10}",
    ] {
        add(
            format!("broken JSON {broken:?}"),
            broken.as_bytes().to_vec(),
        );
    }
    for top in [
        "\"text\"", "1", "true", "null", "[]", "[{}]", "1.5", "1e999", "-1e999",
    ] {
        add(format!("top-level {top}"), top.as_bytes().to_vec());
    }
    for invalid_utf8 in [
        &b"{\"a\":\"\xff\"}"[..],
        b"{\"a\":\"\xc3\x28\"}",
        b"{\"\xfe\":1}",
        b"{\"a\":\"\xc0\xaf\"}",
        b"{\"a\":\"\xed\xa0\x80\"}",
        b"\xff\xfe{\x00}\x00",
    ] {
        add(
            format!("invalid UTF-8 {invalid_utf8:?}"),
            invalid_utf8.to_vec(),
        );
    }
    for depth in [129, 1_000, 10_000] {
        add(
            format!("arrays nested {depth} deep"),
            format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes(),
        );
        add(
            format!("objects nested {depth} deep"),
            format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth)).into_bytes(),
        );
    }
    // Each field of the valid body with a value of another type, or a number no
    // field can hold.
    if let Ok(serde_json::Value::Object(fields)) = serde_json::from_str(valid_body) {
        for (name, value) in &fields {
            for wrong in wrong_values(value) {
                let mut mutated = fields.clone();
                mutated.insert(
                    name.clone(),
                    serde_json::from_str(wrong).unwrap_or_default(),
                );
                let text = serde_json::Value::Object(mutated).to_string();
                // serde_json cannot hold 1e400; splice it in as text.
                let text = if wrong.contains("e400") {
                    text.replace("null", wrong)
                } else {
                    text
                };
                add(format!("field {name} = {wrong}"), text.into_bytes());
            }
            let mut nested = fields.clone();
            nested.insert(name.clone(), serde_json::Value::Null);
            let text = serde_json::Value::Object(nested)
                .to_string()
                .replace("null", &format!("{}{}", "[".repeat(500), "]".repeat(500)));
            add(format!("field {name} nested 500 deep"), text.into_bytes());
        }
    }
    bodies
}

/// Values of another JSON type than `value`'s, and numbers too large for any
/// field.
fn wrong_values(value: &serde_json::Value) -> Vec<&'static str> {
    use serde_json::Value;
    let mut wrong = match value {
        Value::String(_) => vec!["12345", "true", "[]", "{}", "[\"a\"]"],
        Value::Number(_) => vec!["\"not a number\"", "true", "[]", "{}"],
        Value::Bool(_) => vec!["\"yes\"", "[]", "{}", "[true]"],
        Value::Array(_) => vec!["\"x\"", "1", "true", "{}"],
        Value::Object(_) => vec!["\"x\"", "1", "true", "[]"],
        Value::Null => vec![],
    };
    wrong.extend(["1e400", "-1e400"]);
    wrong
}

/// Content-Types a JSON body must not be accepted with.
pub const BAD_CONTENT_TYPES: &[&str] = &[
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/grpc",
];

/// Every HTTP case: the malformed bodies against each JSON route (and against
/// routes that take no body), valid bodies with bad Content-Types, declared
/// bodies larger than `max_body_bytes`, and unknown paths and methods.
pub fn http_cases(json_routes: &[JsonRoute], max_body_bytes: usize) -> Vec<HttpCase> {
    let mut cases = Vec::new();
    // Routes that take no body, or do not exist: every body is refused there too.
    let bodyless = [
        JsonRoute {
            method: "POST",
            path: "/helloworld/world",
            valid_body: r#"{"name":"world"}"#,
        },
        JsonRoute {
            method: "PUT",
            path: "/helloworld/world",
            valid_body: r#"{"name":"world"}"#,
        },
        JsonRoute {
            method: "PATCH",
            path: "/helloworld/world",
            valid_body: r#"{"name":"world"}"#,
        },
        JsonRoute {
            method: "POST",
            path: "/v1/no-such-route",
            valid_body: r#"{"name":"world"}"#,
        },
    ];
    for route in json_routes.iter().chain(&bodyless) {
        for (label, body) in malformed_bodies(route.valid_body) {
            for content_type in ["application/json", "text/plain", ""] {
                cases.push(HttpCase {
                    label: format!(
                        "{} {} {label} as {content_type:?}",
                        route.method, route.path
                    ),
                    method: route.method,
                    target: route.path.as_bytes().to_vec(),
                    headers: content_headers(content_type, body.len()),
                    body: body.clone(),
                });
            }
        }
        for content_type in BAD_CONTENT_TYPES {
            cases.push(HttpCase {
                label: format!(
                    "{} {} valid body as {content_type:?}",
                    route.method, route.path
                ),
                method: route.method,
                target: route.path.as_bytes().to_vec(),
                headers: content_headers(content_type, route.valid_body.len()),
                body: route.valid_body.as_bytes().to_vec(),
            });
        }
        // Announced, never sent: the limit is enforced on the declared length.
        for declared in [max_body_bytes + 1, 1 << 30] {
            cases.push(HttpCase {
                label: format!(
                    "{} {} declaring a {declared}-byte body",
                    route.method, route.path
                ),
                method: route.method,
                target: route.path.as_bytes().to_vec(),
                headers: vec![
                    ("content-type", "application/json".into()),
                    ("content-length", declared.to_string()),
                ],
                body: Vec::new(),
            });
        }
    }
    cases.extend(unknown_routes());
    cases
}

fn content_headers(content_type: &str, length: usize) -> Vec<(&'static str, String)> {
    let mut headers = vec![("content-length", length.to_string())];
    if !content_type.is_empty() {
        headers.push(("content-type", content_type.to_owned()));
    }
    headers
}

/// Paths nothing serves, methods routes do not allow, names the API refuses.
fn unknown_routes() -> Vec<HttpCase> {
    const PREFIXES: &[&str] = &["/v1", "/api", "/x", "/%ff", "/helloworld.v1.Greeter", "/.."];
    const SEGMENTS: &[&str] = &[
        "nothing-here",
        "helloworld",
        "%00",
        "%ff%fe",
        "%c3%28",
        "..",
        "%2e%2e",
        "a%20b",
        "~",
        "%",
        "%zz",
        "1",
        "-",
        "metrics",
        "healthz",
        "ñ",
        "%e2%82",
    ];
    const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "FOO"];
    let mut random = Lcg(7);
    let mut cases = Vec::new();
    for index in 0..120 {
        let mut path = PREFIXES[random.below(PREFIXES.len())].to_owned();
        for _ in 0..random.below(4) {
            path.push('/');
            path.push_str(SEGMENTS[random.below(SEGMENTS.len())]);
        }
        if index % 10 == 0 {
            path.push('/');
            path.push_str(&"long".repeat(500));
        }
        for method in METHODS {
            cases.push(bodyless_case(
                format!("unknown route {method} {path}"),
                method,
                &path,
            ));
        }
    }
    // Existing paths with a method they do not allow, or a name the API refuses.
    for path in ["/healthz", "/readyz", "/metrics", "/helloworld/world"] {
        for method in ["POST", "PUT", "PATCH", "DELETE", "OPTIONS", "FOO"] {
            cases.push(bodyless_case(format!("{method} {path}"), method, path));
        }
    }
    for name in [
        "%ff",
        "%c3%28",
        "%ed%a0%80",
        "%20",
        "%09",
        &"n".repeat(65),
        &"%c3%a9".repeat(65),
    ] {
        let path = format!("/helloworld/{name}");
        cases.push(bodyless_case(format!("GET {path}"), "GET", &path));
    }
    cases
}

fn bodyless_case(label: String, method: &'static str, path: &str) -> HttpCase {
    HttpCase {
        label,
        method,
        target: path.as_bytes().to_vec(),
        headers: Vec::new(),
        body: Vec::new(),
    }
}

/// A gRPC message frame: uncompressed flag, big-endian length, payload.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut framed = vec![0];
    framed.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    framed.extend_from_slice(payload);
    framed
}

/// Every gRPC case against `method` (a unary method taking a message whose field
/// 1 is a string): invalid protobuf, truncated and oversized frames, bad
/// compression flags, unknown services and methods.
pub fn grpc_cases(method: &str, max_message_bytes: usize) -> Vec<GrpcCase> {
    let mut cases = Vec::new();
    let mut add = |label: String, path: &str, body: Vec<u8>| {
        cases.push(GrpcCase {
            label,
            path: path.to_owned(),
            body,
        })
    };
    // Field 1, length-delimited, "world".
    let valid: Vec<u8> = [&[0x0a, 5][..], b"world"].concat();
    let framed = frame(&valid);
    for cut in 1..framed.len() {
        add(
            format!("frame truncated at {cut}"),
            method,
            framed[..cut].to_vec(),
        );
    }
    for invalid in [
        &[0x0f][..],               // wire type 7
        &[0x0b],                   // start group
        &[0x0a, 0x7f, b'a'],       // length beyond the end
        &[0x0a, 0x02, 0xff, 0xfe], // string that is not UTF-8
        &[0x0a, 0x02, 0xed, 0xa0], // truncated UTF-8 in a string
        &[0x00, 0x01],             // field number 0
        &[
            0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ], // varint too long
        &[0x0a],                   // tag without a value
        &[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f], // 4 GiB string
        &[0x09, 0x01],             // fixed64 cut short
    ] {
        add(
            format!("invalid protobuf {invalid:02x?}"),
            method,
            frame(invalid),
        );
    }
    let mut random = Lcg(11);
    for index in 0..300 {
        let payload: Vec<u8> = (0..1 + random.below(64))
            .map(|_| random.next() as u8)
            .collect();
        add(
            format!("random payload {index} {payload:02x?}"),
            method,
            frame(&payload),
        );
    }
    for declared in [max_message_bytes + 1, u32::MAX as usize] {
        let mut header = vec![0];
        header.extend_from_slice(&(declared as u32).to_be_bytes());
        add(
            format!("frame declaring {declared} bytes"),
            method,
            [header, valid.clone()].concat(),
        );
    }
    for flag in [1u8, 2, 0xff] {
        let mut flagged = framed.clone();
        flagged[0] = flag;
        add(
            format!("compression flag {flag} without an encoding"),
            method,
            flagged,
        );
    }
    add(
        "two messages in a unary call".into(),
        method,
        [framed.clone(), framed.clone()].concat(),
    );
    add("no message".into(), method, Vec::new());
    let service = method.rsplit_once('/').map_or("", |(service, _)| service);
    for path in [
        format!("{service}/NoSuchMethod"),
        "/helloworld.v1.NoSuchService/SayHello".to_owned(),
        "/grpc.health.v1.Health/NoSuchMethod".to_owned(),
        "/no.such.Service/Call".to_owned(),
        "/NoSlash".to_owned(),
        format!("{method}/extra"),
    ] {
        add(format!("unknown method {path}"), &path, framed.clone());
    }
    cases
}
