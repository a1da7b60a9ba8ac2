//! The Hitch server: configuration, database, services and the HTTP router.
//! `main.rs` is the CLI; tests boot the real app through [`start`].
pub mod config;
pub mod db;
pub mod routes;
pub mod services;
pub mod session_store;
pub mod telemetry;

use std::net::SocketAddr;
use std::sync::Arc;

use app::ports::Ports;
use app::{App, shell};
use axum::{Router, middleware};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use migration::{Migrator, MigratorTrait};
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tower_http::{
    compression::CompressionLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};
use tower_sessions::{Expiry, SessionManagerLayer, cookie::SameSite};

use crate::config::Config;
use crate::services::{
    auth::AuthService, bookings::BookingsService, clients::ClientsService,
    invoices::InvoicesService, org::OrgService,
};
use crate::session_store::DbSessionStore;

/// Connects and brings the schema up to date.
pub async fn open_database(
    config: &Config,
    schema: Option<&str>,
) -> anyhow::Result<DatabaseConnection> {
    let db = db::connect(
        &config.database_url,
        config.database_max_connections,
        schema,
    )
    .await
    .map_err(|e| {
        anyhow::anyhow!(
            "cannot open database {}: {e}",
            config::redact_url(&config.database_url)
        )
    })?;
    Migrator::up(&db, None).await?;
    Ok(db)
}

fn ports(db: &DatabaseConnection) -> Ports {
    Ports {
        auth: Arc::new(AuthService { db: db.clone() }),
        bookings: Arc::new(BookingsService { db: db.clone() }),
        clients: Arc::new(ClientsService { db: db.clone() }),
        invoices: Arc::new(InvoicesService { db: db.clone() }),
        org: Arc::new(OrgService { db: db.clone() }),
    }
}

/// The whole HTTP surface: pages, server functions, health, static files.
pub fn router(config: &Config, db: DatabaseConnection) -> Router {
    let leptos_options = LeptosOptions::builder()
        .output_name("hitch")
        .site_root(config.site_root.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .site_addr(config.listen)
        .build();
    let ports = ports(&db);
    let routes = generate_route_list(App);
    let app = Router::new()
        .leptos_routes_with_context(
            &leptos_options,
            routes,
            move || provide_context(ports.clone()),
            {
                let options = leptos_options.clone();
                move || shell(options.clone())
            },
        )
        .fallback(leptos_axum::file_and_error_handler(shell))
        .with_state(leptos_options)
        .layer(middleware::from_fn(routes::rpc_status::fix_status));

    let sessions = SessionManagerLayer::new(DbSessionStore::new(db.clone()))
        .with_name("hitch_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.secure_cookies())
        .with_expiry(Expiry::OnInactivity(time::Duration::days(
            config.session_days,
        )));

    Router::new()
        .merge(routes::health::router(db))
        .merge(app.layer(sessions))
        .layer(middleware::from_fn_with_state(
            config.max_body_bytes,
            routes::limits::body_limit,
        ))
        .layer(CompressionLayer::new())
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(telemetry::span_for))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// A running server: where it listens and the task serving it.
pub struct Running {
    pub addr: SocketAddr,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Binds `config.listen` and serves until `shutdown` resolves.
pub async fn start(
    config: &Config,
    db: DatabaseConnection,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Running> {
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr()?;
    spawn_session_sweeper(db.clone());
    let app = router(config, db);
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
    });
    Ok(Running { addr, task })
}

/// Deletes expired sessions hourly so the table stays small.
fn spawn_session_sweeper(db: DatabaseConnection) {
    tokio::spawn(async move {
        let store = DbSessionStore::new(db);
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            if let Err(e) = store.delete_expired().await {
                tracing::warn!(error = %e, "could not delete expired sessions");
            }
        }
    });
}
