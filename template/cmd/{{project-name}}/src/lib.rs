//! The composition root. `main.rs` reads flags and config; this file builds the
//! whole dependency graph by hand, so the end-to-end tests start exactly what
//! production starts.

use anyhow::Context;

/// data -> biz -> service -> server, then both servers bound and ready to run.
pub async fn wire(conf: &conf::Bootstrap) -> anyhow::Result<platform::App> {
    let data = data::Data::connect(&conf.data.database).await?;
    let health = platform::Health::builder()
        .check("database", {
            let data = data.clone();
            move || data.ping()
        })
        .build();
    let metrics = platform::Metrics::new(
        env!("CARGO_PKG_VERSION"),
        option_env!("GIT_COMMIT").unwrap_or("unknown"),
    );

    let greeter = biz::GreeterUsecase::new(data::GreeterRepo::new(data));
    let services = service::Services {
        greeter: service::GreeterService::new(greeter),
    };

    let grpc = platform::Server::grpc(
        conf.server.grpc.addr,
        server::grpc(&services, &health, &metrics)?,
    )
    .await
    .context("server.grpc.addr")?;
    let http = platform::Server::http(
        conf.server.http.addr,
        server::http(&services, &health, &metrics),
    )
    .await
    .context("server.http.addr")?;
    Ok(platform::App::new(conf.app.shutdown_grace, health)
        .server(grpc)
        .server(http))
}
