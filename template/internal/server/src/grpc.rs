use api::helloworld::v1::greeter_server::GreeterServer;
use service::Services;
use tonic::service::Routes;

/// The gRPC routes: every service, by its full proto name.
pub fn grpc(services: &Services) -> Routes {
    Routes::new(GreeterServer::new(services.greeter.clone()))
}
