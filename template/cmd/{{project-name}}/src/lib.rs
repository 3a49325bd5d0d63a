//! The composition root. `main.rs` reads flags and config; this file builds the
//! whole dependency graph by hand, so the end-to-end tests start exactly what
//! production starts.

use strata::telemetry;

/// The whole graph: data -> biz -> service -> server, then the listeners bound and
/// ready to run.
pub async fn wire(conf: &conf::Bootstrap) -> anyhow::Result<strata::App> {
    let data = data::Data::connect(&conf.data.database).await?;
    let metrics = metrics(&data);
    let upstreams = strata::client::Upstreams::new(&conf.clients, &metrics)
        .await
        .map_err(anyhow::Error::msg)?;
    let services = services(data.clone(), &upstreams)?;
    let health = health(&data);
    let app = bind(conf, &services, health, &metrics).await?;
    // Once the listeners have stopped: connections end cleanly, and SQLite's
    // worker threads let go of the request spans they still hold, so the last
    // requests' spans end before telemetry flushes them.
    Ok(app.after_stop(move || async move {
        data.close().await;
        Ok(())
    }))
}

/// Every api service over `data` and the `upstreams` it calls: data -> biz ->
/// service, the one place each is constructed. `make scaffold` adds a resource's
/// lines at the markers.
pub fn services(
    data: data::Data,
    upstreams: &strata::client::Upstreams,
) -> anyhow::Result<service::Services> {
    let greeter = biz::GreeterUsecase::new(data::GreeterRepo::new(data.clone()));
    let notes = biz::NoteUsecase::new(data::NoteRepo::new(data.clone()));
    let welcome = biz::WelcomeUsecase::new(notes.clone(), data::GreeterUpstream::new(upstreams)?);
    // strata:scaffold usecase
    Ok(service::Services {
        greeter: service::GreeterService::new(greeter),
        notes: service::NotesService::new(notes, welcome),
        // strata:scaffold service
    })
}

/// The transport half of [`wire`]: `services` mounted on the gRPC and HTTP
/// listeners (and the admin one when `server.admin_addr` is set) behind the
/// configured middleware. Tests that need a different data layer start here.
pub async fn bind(
    conf: &conf::Bootstrap,
    services: &service::Services,
    health: strata::Health,
    metrics: &strata::Metrics,
) -> anyhow::Result<strata::App> {
    let server = &conf.server;
    let auth = strata::auth::Authenticator::new(&conf.auth).await?;
    let grpc_routes = server::grpc(server, services, &health, metrics, &auth)?;
    let http_routes = server::http(server, services, &health, metrics, &auth);
    let grpc = strata::Listener::grpc_from(server, grpc_routes).await?;
    let http = strata::Listener::http_from(server, http_routes).await?;
    let admin_routes = strata::admin::routes(health.clone(), metrics.clone());
    let admin = strata::Listener::admin_from(server, admin_routes).await?;
    let app = strata::App::new(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
        .shutdown_grace(server.shutdown_grace)
        .trim_memory_every(server.trim_memory_every)
        .listener(grpc)
        .listener(http);
    let app = match admin {
        Some(admin) => app.listener(admin),
        None => app,
    };
    Ok(app.health(health))
}

/// Readiness (`/readyz`, gRPC health): the database's last probe passed.
fn health(data: &data::Data) -> strata::Health {
    strata::Health::builder().breaker(data.breaker()).build()
}

/// `/metrics`: the framework's families, plus the database pool's gauges.
fn metrics(data: &data::Data) -> strata::Metrics {
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
    metrics
}

/// Logs and traces as `log.*` and `trace.*` say; no OpenTelemetry at all when
/// `server.middleware.tracing` is off.
pub fn telemetry(conf: &conf::Bootstrap) -> anyhow::Result<telemetry::Telemetry> {
    let trace = conf.server.middleware.tracing.then_some(&conf.trace);
    let service = (env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"));
    telemetry::init(&conf.log, trace, service).map_err(anyhow::Error::msg)
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
    sources: conf::Sources,
    running: &conf::Bootstrap,
    levels: telemetry::LevelHandle,
) -> anyhow::Result<strata::config::Watcher> {
    let level = std::sync::Mutex::new(running.log.level.clone());
    let watcher = conf::watch::<conf::Bootstrap>(sources, move |reloaded| match reloaded {
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
