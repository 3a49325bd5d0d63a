//! The composition root. `main.rs` reads flags and config; this file builds the
//! whole dependency graph by hand, so the end-to-end tests start exactly what
//! production starts.

use anyhow::Context;
use strata::telemetry;

/// data -> biz -> service -> server, then both servers bound and ready to run.
pub async fn wire(conf: &conf::Bootstrap) -> anyhow::Result<strata::App> {
    let data = data::Data::connect(&conf.data.database).await?;
    let health = strata::Health::builder()
        .check("database", {
            let data = data.clone();
            move || data.ping()
        })
        .build();
    let metrics = strata::Metrics::new(
        env!("CARGO_PKG_VERSION"),
        option_env!("GIT_COMMIT").unwrap_or("unknown"),
    );
    let pool = data.clone();
    metrics.gauge_fn(
        "db_pool_connections",
        "Open database connections",
        move || i64::from(pool.pool_size()),
    );
    let pool = data.clone();
    metrics.gauge_fn(
        "db_pool_idle_connections",
        "Idle database connections",
        move || i64::try_from(pool.pool_idle()).unwrap_or(i64::MAX),
    );

    bind(conf, &services(data), health, &metrics).await
}

/// Every api service over `data`: data -> biz -> service, the one place each is
/// constructed.
pub fn services(data: data::Data) -> service::Services {
    let greeter = biz::GreeterUsecase::new(data::GreeterRepo::new(data.clone()));
    let notes = biz::NoteUsecase::new(data::NotesRepo::new(data));
    service::Services {
        greeter: service::GreeterService::new(greeter),
        notes: service::NotesService::new(notes),
    }
}

/// The transport half of [`wire`]: `services` mounted on the gRPC and HTTP
/// servers (and the admin one when configured) behind the configured middleware,
/// bound and ready to run. Tests that need a different data layer start here.
pub async fn bind(
    conf: &conf::Bootstrap,
    services: &service::Services,
    health: strata::Health,
    metrics: &strata::Metrics,
) -> anyhow::Result<strata::App> {
    let server = &conf.server;
    let grpc_routes = server::grpc(server, services, &health, metrics)?;
    let http_routes = server::http(server, services, &health, metrics);
    let grpc = strata::Server::grpc(server.grpc.addr, grpc_routes)
        .await
        .context("server.grpc.addr")?;
    let http = strata::Server::http(server.http.addr, http_routes)
        .await
        .context("server.http.addr")?
        .header_read_timeout(server.http.header_read_timeout);
    let mut app = strata::App::new(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
        .shutdown_grace(server.shutdown_grace)
        .server(grpc)
        .server(http);
    if let Some(addr) = server.admin_addr() {
        let admin = strata::Server::admin(addr, server::admin(&health, metrics))
            .await
            .context("server.admin_addr")?
            .header_read_timeout(server.http.header_read_timeout);
        app = app.server(admin);
    }
    Ok(app.health(health))
}

/// Applies the database migrations, whatever `data.database.migrate` says.
pub async fn migrate(conf: &conf::Bootstrap) -> anyhow::Result<()> {
    let database = conf::Database {
        migrate: true,
        ..conf.data.database.clone()
    };
    data::Data::connect(&database).await?;
    Ok(())
}

/// Applies the reloadable settings whenever the config files change: today
/// `log.level`. A reload that fails validation keeps the running configuration.
pub fn watch_config(
    options: conf::Options,
    running: &conf::Bootstrap,
    levels: telemetry::LevelHandle,
) -> anyhow::Result<conf::Watcher> {
    let level = std::sync::Mutex::new(running.log.level.clone());
    let watcher = conf::watch(options, move |reloaded| match reloaded {
        Ok(conf) => {
            let Ok(mut level) = level.lock() else { return };
            if *level == conf.log.level {
                return;
            }
            match levels.set(&conf.log.level) {
                Ok(()) => tracing::info!(from = %level, to = %conf.log.level, "log.level reloaded"),
                Err(err) => tracing::warn!(%err, "log.level not reloaded"),
            }
            *level = conf.log.level;
        }
        Err(err) => {
            tracing::error!(%err, "config reload failed; keeping the running configuration")
        }
    })?;
    Ok(watcher)
}

/// Logs and traces as configured: `log.*`, `trace.*`, `server.middleware.tracing`.
pub fn telemetry_options(conf: &conf::Bootstrap) -> telemetry::Options<'_> {
    let log = &conf.log;
    telemetry::Options {
        level: &log.level,
        format: match log.format {
            conf::LogFormat::Pretty => telemetry::LogFormat::Pretty,
            conf::LogFormat::Json => telemetry::LogFormat::Json,
        },
        file: log.file.enabled.then_some(telemetry::LogFile {
            dir: &log.file.dir,
            rotation: match log.file.rotation {
                conf::Rotation::Daily => telemetry::Rotation::Daily,
                conf::Rotation::Hourly => telemetry::Rotation::Hourly,
            },
            max_files: log.file.max_files,
        }),
        tracing: conf
            .server
            .middleware
            .tracing
            .then_some(telemetry::Tracing {
                service_name: &conf.trace.service_name,
                service_version: env!("CARGO_PKG_VERSION"),
                endpoint: Some(conf.trace.endpoint.as_str())
                    .filter(|endpoint| !endpoint.is_empty()),
                sampling_ratio: conf.trace.sampling_ratio,
            }),
    }
}
