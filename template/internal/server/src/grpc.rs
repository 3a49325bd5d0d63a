use api::helloworld::v1::greeter_server::GreeterServer;
use api::notes::v1::notes_server::NotesServer;
use strata::middleware::Transport;
use strata::{Health, Metrics};
use service::Services;
use tonic::service::Routes;

use crate::middleware::options;

/// The gRPC routes: every service by its full proto name, plus `grpc.health.v1`
/// and server reflection (v1 and v1alpha, for older grpcurl clients), behind the
/// same middleware as HTTP.
pub fn grpc(
    conf: &conf::Server,
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
    // One line per api service.
    let routes = Routes::new(
        GreeterServer::new(services.greeter.clone()).max_decoding_message_size(max_message),
    )
    .add_service(NotesServer::new(services.notes.clone()).max_decoding_message_size(max_message))
    .add_service(health.grpc_service())
    .add_service(reflection().build_v1()?)
    .add_service(reflection().build_v1alpha()?);

    let options = options(&conf.middleware, conf.grpc.timeout);
    let router = strata::middleware::apply(
        routes.into_axum_router(),
        Transport::Grpc,
        &options,
        metrics,
    );
    Ok(Routes::from(router))
}
