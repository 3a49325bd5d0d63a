use api::helloworld::v1::greeter_server::GreeterServer;
use api::notes::v1::notes_server::NotesServer;
use service::Services;
use strata::auth::Authenticator;
use strata::config::Server;
use strata::{Health, Metrics, Validated};
use tonic::service::Routes;

/// The gRPC routes: every service by its full proto name, plus `grpc.health.v1`
/// and, when `server.grpc.reflection` is on, server reflection (v1 and v1alpha,
/// for older grpcurl clients), behind the same middleware as HTTP and, when
/// `auth.jwt` is on, the token check.
pub fn grpc(
    conf: &Server,
    services: &Services,
    health: &Health,
    metrics: &Metrics,
    auth: &Authenticator,
) -> Result<Routes, tonic_reflection::server::Error> {
    let max_message = conf.grpc.max_message_bytes;
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(api::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    // Each api service behind the `buf.validate` rules of its protos: one line
    // here and one in the chain below (`make scaffold` adds both at the markers).
    let greeter = GreeterServer::new(Validated::new(services.greeter.clone()));
    let notes = NotesServer::new(Validated::new(services.notes.clone()));
    // strata:scaffold grpc
    let mut routes = Routes::new(greeter.max_decoding_message_size(max_message))
        .add_service(notes.max_decoding_message_size(max_message))
        // strata:scaffold grpc chain
        .add_service(health.grpc_service());
    if conf.grpc.reflection {
        routes = routes
            .add_service(reflection().build_v1()?)
            .add_service(reflection().build_v1alpha()?);
    }

    // Every service mounted above, so tokens are checked on each of its methods.
    let served = [
        api::FILE_DESCRIPTOR_SET,
        tonic_health::pb::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
    ];
    let router = strata::auth::grpc(routes.into_axum_router(), auth, &served);
    let router = strata::middleware::grpc(router, conf, metrics);
    Ok(Routes::from(router))
}
