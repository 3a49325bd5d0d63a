use api::helloworld::v1::greeter_server::GreeterServer;
use platform::Health;
use service::Services;
use tonic::service::Routes;

/// The gRPC routes: every service by its full proto name, plus `grpc.health.v1`
/// and server reflection (v1 and v1alpha, for older grpcurl clients).
pub fn grpc(
    services: &Services,
    health: &Health,
) -> Result<Routes, tonic_reflection::server::Error> {
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(api::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    Ok(Routes::new(GreeterServer::new(services.greeter.clone()))
        .add_service(health.grpc_service())
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?))
}
