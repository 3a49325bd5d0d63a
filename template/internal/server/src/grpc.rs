use api::helloworld::v1::greeter_server::GreeterServer;
use api::notes::v1::notes_server::NotesServer;
use service::Services;
use strata::config::Server;
use strata::{Health, Metrics};
use tonic::service::Routes;

/// The gRPC routes: every service by its full proto name, plus `grpc.health.v1`
/// and, when `server.grpc.reflection` is on, server reflection (v1 and v1alpha,
/// for older grpcurl clients), behind the same middleware as HTTP.
pub fn grpc(
    conf: &Server,
    services: &Services,
    health: &Health,
    metrics: &Metrics,
) -> Result<Routes, tonic_reflection::server::Error> {
    let max_message = conf.grpc.max_message_bytes;
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(api::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let mut routes = Routes::new(health.grpc_service());
    // One line per api service.
    routes = routes.add_service(
        GreeterServer::new(services.greeter.clone()).max_decoding_message_size(max_message),
    );
    routes = routes.add_service(
        NotesServer::new(services.notes.clone()).max_decoding_message_size(max_message),
    );
    // strata:scaffold grpc
    if conf.grpc.reflection {
        routes = routes
            .add_service(reflection().build_v1()?)
            .add_service(reflection().build_v1alpha()?);
    }

    let router = strata::middleware::grpc(routes.into_axum_router(), conf, metrics);
    Ok(Routes::from(router))
}
