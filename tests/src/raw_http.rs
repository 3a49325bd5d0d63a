//! HTTP/1.1 by hand over a TCP socket, for requests no well-behaved client sends:
//! invalid UTF-8 in paths, lying Content-Length headers, bytes sent one at a time.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What came back for one request.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    /// Lowercased names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The body as text, invalid UTF-8 replaced, for failure messages.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A request line, headers and body, written as they are: nothing is checked or
/// escaped. `Connection: close` and `Host` are added.
pub fn request(method: &str, target: &[u8], headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(body.len() + 256);
    bytes.extend_from_slice(method.as_bytes());
    bytes.push(b' ');
    bytes.extend_from_slice(target);
    bytes.extend_from_slice(b" HTTP/1.1\r\nhost: strata-test\r\nconnection: close\r\n");
    for (name, value) in headers {
        bytes.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    bytes.extend_from_slice(b"\r\n");
    bytes.extend_from_slice(body);
    bytes
}

/// Sends `bytes` on a new connection and reads the one response, giving up after
/// `within`. The error says what went wrong and what had arrived.
pub async fn exchange(
    addr: SocketAddr,
    bytes: &[u8],
    within: Duration,
) -> Result<RawResponse, String> {
    talk(addr, bytes, false, within).await
}

/// Like [`exchange`], but half-closes the connection once `bytes` are written: a
/// client that says it will send nothing more.
pub async fn exchange_half_closed(
    addr: SocketAddr,
    bytes: &[u8],
    within: Duration,
) -> Result<RawResponse, String> {
    talk(addr, bytes, true, within).await
}

async fn talk(
    addr: SocketAddr,
    bytes: &[u8],
    half_close: bool,
    within: Duration,
) -> Result<RawResponse, String> {
    let talk = async {
        let mut stream = TcpStream::connect(addr)
            .await
            .map_err(|err| format!("connect: {err}"))?;
        stream
            .write_all(bytes)
            .await
            .map_err(|err| format!("write: {err}"))?;
        if half_close {
            stream
                .shutdown()
                .await
                .map_err(|err| format!("shutdown: {err}"))?;
        }
        read_response(&mut stream).await
    };
    tokio::time::timeout(within, talk)
        .await
        .map_err(|_| format!("no response within {within:?}"))?
}

/// Reads one response: the head, then a body delimited by Content-Length,
/// chunked encoding or the end of the connection.
pub async fn read_response(stream: &mut TcpStream) -> Result<RawResponse, String> {
    let mut received = Vec::new();
    let head_end = loop {
        if let Some(end) = find(&received, b"\r\n\r\n") {
            break end;
        }
        if read_more(stream, &mut received).await? == 0 {
            return Err(format!(
                "connection closed before a full response head; got {:?}",
                String::from_utf8_lossy(&received)
            ));
        }
    };
    let head = String::from_utf8_lossy(&received[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let mut body = received.split_off(head_end + 4);
    let response = |body| RawResponse {
        status,
        headers: headers.clone(),
        body,
    };
    let length = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.parse::<usize>().ok());
    let chunked = headers
        .iter()
        .any(|(name, value)| name == "transfer-encoding" && value.contains("chunked"));
    if let Some(length) = length {
        while body.len() < length {
            if read_more(stream, &mut body).await? == 0 {
                return Err(format!("body ended after {} of {length} bytes", body.len()));
            }
        }
        body.truncate(length);
        Ok(response(body))
    } else if chunked {
        while find(&body, b"0\r\n\r\n").is_none() {
            if read_more(stream, &mut body).await? == 0 {
                break;
            }
        }
        Ok(response(dechunk(&body)))
    } else {
        while read_more(stream, &mut body).await? > 0 {}
        Ok(response(body))
    }
}

async fn read_more(stream: &mut TcpStream, into: &mut Vec<u8>) -> Result<usize, String> {
    let mut buffer = [0u8; 16 * 1024];
    let read = stream
        .read(&mut buffer)
        .await
        .map_err(|err| format!("read: {err}"))?;
    into.extend_from_slice(&buffer[..read]);
    Ok(read)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

fn dechunk(mut chunked: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(line_end) = find(chunked, b"\r\n") {
        let size = std::str::from_utf8(&chunked[..line_end])
            .ok()
            .and_then(|size| usize::from_str_radix(size.trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = line_end + 2;
        let end = (start + size).min(chunked.len());
        body.extend_from_slice(&chunked[start..end]);
        chunked = &chunked[(end + 2).min(chunked.len())..];
    }
    body
}
