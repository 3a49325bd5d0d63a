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
    let channel = Channel::from_shared(format!("http://{addr}"))
        .expect("valid URI")
        .connect()
        .await
        .map_err(|err| tonic::Status::unavailable(err.to_string()))?;
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
