//! A gRPC client for `helloworld.v1.Greeter`, written out by hand so the tests need
//! no code generation: the messages are two strings.

use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;

#[derive(Clone, PartialEq, prost::Message)]
pub struct HelloRequest {
    #[prost(string, tag = "1")]
    pub name: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct HelloReply {
    #[prost(string, tag = "1")]
    pub message: String,
}

/// Calls `/helloworld.v1.Greeter/SayHello` at `addr` and returns the reply's message.
pub async fn say_hello(addr: std::net::SocketAddr, name: &str) -> Result<String, tonic::Status> {
    let channel = connect(addr)
        .await
        .map_err(|err| tonic::Status::unavailable(err.to_string()))?;
    say_hello_on(channel, name).await
}

/// A channel to `addr`, connected now; it reconnects by itself when needed.
pub async fn connect(addr: std::net::SocketAddr) -> Result<Channel, tonic::transport::Error> {
    Channel::from_shared(format!("http://{addr}"))
        .expect("valid URI")
        .connect()
        .await
}

/// `SayHello` over an existing `channel`.
pub async fn say_hello_on(channel: Channel, name: &str) -> Result<String, tonic::Status> {
    let mut client = tonic::client::Grpc::new(channel);
    client
        .ready()
        .await
        .map_err(|err| tonic::Status::unavailable(err.to_string()))?;
    let reply = client
        .unary(
            tonic::Request::new(HelloRequest { name: name.into() }),
            PathAndQuery::from_static("/helloworld.v1.Greeter/SayHello"),
            tonic_prost::ProstCodec::<HelloRequest, HelloReply>::default(),
        )
        .await?;
    Ok(reply.into_inner().message)
}

/// How the server answered a gRPC request sent as raw bytes.
#[derive(Debug, Clone)]
pub struct RawReply {
    pub http_status: u16,
    /// `grpc-status` from the trailers, or from the headers of a trailers-only
    /// response.
    pub grpc_status: Option<i32>,
    pub grpc_message: String,
}

/// POSTs `body` as it is (length-prefixed frames, or not) to `path` with gRPC's
/// headers, so the test controls every byte the server decodes.
pub async fn raw_call(
    channel: &mut Channel,
    path: &str,
    body: Vec<u8>,
) -> Result<RawReply, String> {
    use http_body_util::{BodyExt, Full};
    use tonic::codegen::{Bytes, Service, http};

    let request = http::Request::post(path)
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(tonic::body::Body::new(Full::new(Bytes::from(body))))
        .map_err(|err| format!("request: {err}"))?;
    std::future::poll_fn(|cx| channel.poll_ready(cx))
        .await
        .map_err(|err| format!("channel: {err}"))?;
    let response = channel
        .call(request)
        .await
        .map_err(|err| format!("call: {err}"))?;
    let http_status = response.status().as_u16();
    let (parts, body) = response.into_parts();
    let trailers = body
        .collect()
        .await
        .map_err(|err| format!("body: {err}"))?
        .trailers()
        .cloned()
        .unwrap_or_default();
    let field = |name: &str| {
        trailers
            .get(name)
            .or_else(|| parts.headers.get(name))
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    Ok(RawReply {
        http_status,
        grpc_status: field("grpc-status").and_then(|code| code.parse().ok()),
        grpc_message: field("grpc-message").unwrap_or_default(),
    })
}
