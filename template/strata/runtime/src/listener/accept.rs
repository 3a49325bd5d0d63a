//! What every listener does before a connection reaches hyper or tonic: accept
//! without spinning when accept fails, and wait a bounded time for the client to
//! show its protocol.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// What an HTTP/2 client sends first (RFC 9113 §3.4).
const HTTP2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The pause after a failed accept: out of file descriptors, or a connection
/// reset while queued. Retrying at once would burn a core and fail again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// How often a client that has sent part of the HTTP/2 preface is looked at
/// again: peeking returns at once while the bytes it saw are unread.
const PREFACE_POLL: Duration = Duration::from_millis(10);

/// The next connection on `listener`, or `None` once `shutdown` is cancelled.
pub(super) async fn next(
    transport: &str,
    listener: &TcpListener,
    shutdown: &CancellationToken,
) -> Option<(TcpStream, SocketAddr)> {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    // Replies go out as they are written: without this, Nagle's
                    // algorithm holds a small frame back until the client's delayed
                    // ACK (tens of milliseconds). tonic's own server set it too.
                    if let Err(err) = stream.set_nodelay(true) {
                        tracing::debug!(%err, transport, "TCP_NODELAY not set");
                    }
                    return Some((stream, peer));
                }
                Err(err) => {
                    tracing::warn!(%err, transport, "accepting a connection failed");
                    tokio::select! {
                        () = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                        () = shutdown.cancelled() => return None,
                    }
                }
            },
            () = shutdown.cancelled() => return None,
        }
    }
}

/// What a new connection's first bytes say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Opening {
    /// The whole HTTP/2 preface.
    Http2,
    /// Bytes that cannot begin the HTTP/2 preface (HTTP/1, or garbage).
    Other,
}

/// Waits, without consuming anything, until `stream` has shown its protocol.
/// hyper's timeouts start only once it knows the protocol and has its preface,
/// so a client that stays silent, or sends `P` and stops, is dropped here after
/// `timeout` (`None`), or as soon as shutdown begins.
pub(super) async fn opening(
    stream: &TcpStream,
    timeout: Duration,
    shutdown: &CancellationToken,
) -> Option<Opening> {
    let detect = async {
        let mut first = [0u8; HTTP2_PREFACE.len()];
        loop {
            let read = stream.peek(&mut first).await.ok()?;
            if read == 0 {
                return None;
            }
            if first[..read] != HTTP2_PREFACE[..read] {
                return Some(Opening::Other);
            }
            if read == HTTP2_PREFACE.len() {
                return Some(Opening::Http2);
            }
            tokio::time::sleep(PREFACE_POLL).await;
        }
    };
    tokio::select! {
        shown = tokio::time::timeout(timeout, detect) => shown.ok().flatten(),
        () = shutdown.cancelled() => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let client = TcpStream::connect(listener.local_addr().expect("addr"))
            .await
            .expect("connect");
        let (server, _) = listener.accept().await.expect("accept");
        (client, server)
    }

    async fn opening_after(sent: &[u8]) -> Option<Opening> {
        let (mut client, server) = pair().await;
        client.write_all(sent).await.expect("write");
        opening(
            &server,
            Duration::from_millis(200),
            &CancellationToken::new(),
        )
        .await
    }

    #[tokio::test]
    async fn tells_the_preface_from_http1_and_gives_up_on_silence() {
        assert_eq!(opening_after(HTTP2_PREFACE).await, Some(Opening::Http2));
        assert_eq!(
            opening_after(b"GET / HTTP/1.1\r\n").await,
            Some(Opening::Other)
        );
        assert_eq!(opening_after(b"P").await, None);
        assert_eq!(opening_after(&HTTP2_PREFACE[..10]).await, None);
        assert_eq!(opening_after(b"").await, None);
    }

    #[tokio::test]
    async fn leaves_the_bytes_for_the_server() {
        let (mut client, mut server) = pair().await;
        client.write_all(b"GET").await.expect("write");
        let shown = opening(&server, Duration::from_secs(1), &CancellationToken::new()).await;
        assert_eq!(shown, Some(Opening::Other));
        let mut read = [0u8; 3];
        server.read_exact(&mut read).await.expect("read");
        assert_eq!(&read, b"GET");
    }
}
