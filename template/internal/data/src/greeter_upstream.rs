//! The Greeter service over the network: biz's `GreetingSource`, called through
//! the `clients.greeter` upstream (balancing, deadline, retries, breaker: the
//! framework's client stack).

use api::helloworld::v1::HelloRequest;
use api::helloworld::v1::greeter_client::GreeterClient;
use strata::client::{GrpcChannel, UnknownUpstream, Upstreams};
use tonic::{Code, Status};

/// The name of the upstream under `clients:` in the configuration.
const UPSTREAM: &str = "greeter";

/// Greetings from the Greeter service.
#[derive(Debug, Clone)]
pub struct GreeterUpstream {
    client: GreeterClient<GrpcChannel>,
}

impl GreeterUpstream {
    /// The Greeter at `clients.greeter`; an error when the configuration has no
    /// such upstream.
    pub fn new(upstreams: &Upstreams) -> Result<Self, UnknownUpstream> {
        Ok(Self {
            client: GreeterClient::new(upstreams.grpc(UPSTREAM)?),
        })
    }
}

#[async_trait::async_trait]
impl biz::GreetingSource for GreeterUpstream {
    async fn greet(&self, name: &str) -> biz::Result<String> {
        let request = HelloRequest {
            name: name.to_owned(),
        };
        let reply = self
            .client
            .clone()
            .say_hello(request)
            .await
            .map_err(to_biz)?;
        Ok(reply.into_inner().message)
    }
}

/// The Greeter's refusal of the name is the caller's mistake; anything else is
/// a dependency failing, with the status kept as the cause.
fn to_biz(status: Status) -> biz::Error {
    match status.code() {
        Code::InvalidArgument => biz::Error::invalid_argument("name", status.message()),
        Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted => {
            biz::Error::Unavailable(Box::new(status))
        }
        _ => biz::Error::storage(status),
    }
}
