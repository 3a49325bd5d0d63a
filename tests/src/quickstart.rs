//! The `curl` commands a README shows in its `sh` blocks, read as curl reads them,
//! so a test can send exactly what a reader who pastes them sends.

use std::net::SocketAddr;

use serde_json::Value;

/// One `curl` line: what curl would send, and the JSON its comment promises, if
/// the comment is JSON.
#[derive(Debug, Clone)]
pub struct Curl {
    /// The line as the README shows it.
    pub line: String,
    pub method: String,
    /// The path and query, after `host:port`.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    pub expected: Option<Value>,
    /// `-N`: the reply is a stream that stays open (SSE, NDJSON).
    pub streams: bool,
}

/// Every `curl` line of the fenced `sh` blocks of `readme`, in order.
pub fn curl_commands(readme: &str) -> Vec<Curl> {
    let mut in_sh = false;
    let mut commands = Vec::new();
    for line in readme.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            in_sh = !in_sh && trimmed == "```sh";
            continue;
        }
        if in_sh && trimmed.starts_with("curl ") {
            commands.push(parse(trimmed));
        }
    }
    commands
}

/// `line` as curl reads it: `-X`, `-H` and `-d` (which makes it a POST and, without
/// a Content-Type header, a form, as curl does); one URL.
fn parse(line: &str) -> Curl {
    let (words, comment) = split(line);
    let mut method = None;
    let mut path = None;
    let mut headers = Vec::new();
    let mut body = None;
    let mut streams = false;
    let mut words = words.into_iter().skip(1);
    while let Some(word) = words.next() {
        let mut value = |inline: &str| {
            if inline.is_empty() {
                words
                    .next()
                    .unwrap_or_else(|| panic!("{line}: {word} needs a value"))
            } else {
                inline.to_owned()
            }
        };
        if let Some(rest) = word.strip_prefix("-X") {
            method = Some(value(rest));
        } else if let Some(rest) = word.strip_prefix("-H") {
            let header = value(rest);
            let (name, value) = header
                .split_once(':')
                .unwrap_or_else(|| panic!("{line}: bad header {header}"));
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        } else if let Some(rest) = word.strip_prefix("-d") {
            body = Some(value(rest));
        } else if word == "-N" {
            streams = true;
        } else if word.starts_with('-') {
            panic!("{line}: teach tests/src/quickstart.rs the option {word}");
        } else {
            let url = word.trim_start_matches("http://");
            let start = url.find('/').unwrap_or(url.len());
            path = Some(if start == url.len() {
                "/".to_owned()
            } else {
                url[start..].to_owned()
            });
        }
    }
    let has_content_type = headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("content-type"));
    if body.is_some() && !has_content_type {
        headers.push((
            "Content-Type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        ));
    }
    let default_method = if body.is_some() { "POST" } else { "GET" };
    Curl {
        line: line.to_owned(),
        method: method.unwrap_or_else(|| default_method.to_owned()),
        path: path.unwrap_or_else(|| panic!("{line}: no URL")),
        headers,
        body,
        expected: comment.and_then(|text| serde_json::from_str(&text).ok()),
        streams,
    }
}

/// The shell words of `line` (single and double quotes, no escapes) and the
/// comment after an unquoted `#`.
fn split(line: &str) -> (Vec<String>, Option<String>) {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote = None;
    for (at, c) in line.char_indices() {
        match (quote, c) {
            (Some(open), c) if c == open => quote = None,
            (Some(_), c) => word.get_or_insert_with(String::new).push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                word.get_or_insert_with(String::new);
            }
            (None, '#') if word.is_none() => {
                words.extend(word.take());
                return (words, Some(line[at + 1..].trim().to_owned()));
            }
            (None, c) if c.is_whitespace() => words.extend(word.take()),
            (None, c) => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    (words, None)
}

/// Sends `curl` to the service at `addr`; the status and the body.
pub async fn send(curl: &Curl, addr: SocketAddr) -> (u16, String) {
    let method = reqwest::Method::from_bytes(curl.method.as_bytes()).expect("method");
    let mut request = reqwest::Client::new().request(method, format!("http://{addr}{}", curl.path));
    for (name, value) in &curl.headers {
        request = request.header(name, value);
    }
    if let Some(body) = &curl.body {
        request = request.body(body.clone());
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|err| panic!("{}: {err}", curl.line));
    let status = response.status().as_u16();
    if curl.streams {
        // The stream stays open: what a reader sees at once is its headers.
        let kind = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|kind| kind.to_str().ok())
            .unwrap_or_default();
        assert!(
            ["text/event-stream", "application/x-ndjson"]
                .iter()
                .any(|stream| kind.starts_with(stream)),
            "{}: a stream, not {kind:?}",
            curl.line
        );
        return (status, String::new());
    }
    (status, response.text().await.expect("body"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_curl_as_curl_does() {
        let readme = "```sh\nmake run\n\
            curl localhost:8000/hello/world    # {\"message\":\"Hello world\"}\n\
            curl -XPOST localhost:8000/v1/notes -H 'Content-Type: application/json' -d '{\"title\":\"a b\"}'\n\
            curl -d 'x=1' localhost:8000/form\n```\n\
            `curl localhost:8000/not-in-a-block`\n";

        let commands = curl_commands(readme);

        assert_eq!(commands.len(), 3, "{commands:#?}");
        assert_eq!(
            (commands[0].method.as_str(), commands[0].path.as_str()),
            ("GET", "/hello/world")
        );
        assert_eq!(
            commands[0].expected,
            Some(serde_json::json!({"message": "Hello world"}))
        );
        assert_eq!(commands[1].method, "POST");
        assert_eq!(
            commands[1].headers,
            [("Content-Type".to_owned(), "application/json".to_owned())]
        );
        assert_eq!(commands[1].body.as_deref(), Some(r#"{"title":"a b"}"#));
        assert_eq!(commands[2].method, "POST");
        assert_eq!(
            commands[2].headers[0].1,
            "application/x-www-form-urlencoded"
        );
    }
}
