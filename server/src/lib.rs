//! The Hitch server: configuration, database, services and the HTTP router.
//! `main.rs` is the CLI; tests boot the real app through [`start`].
//!
//! This file is the composition root: the one place that names every consumer of
//! domain events. The layers below it import only downwards; `layering.rs` states
//! the rule and a test checks it on the tree.
pub mod calendar_composition;
pub mod config;
pub mod consumers;
pub mod db;
pub mod events;
pub mod jobs;
#[cfg(test)]
mod layering;
pub mod metrics;
pub mod platform;
pub mod routes;
pub mod services;
pub mod session_store;
pub mod stripe;
pub mod telemetry;
pub mod vault;

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
use tokio_util::sync::CancellationToken;
use tower_http::{
    CompressionLevel,
    compression::CompressionLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};
use tower_sessions::{Expiry, SessionManagerLayer, cookie::SameSite};

use crate::config::Config;
use crate::consumers::calendars::{self as calendars, CalendarSubscriber};
use crate::consumers::notifications::{self as notifications, NotificationSubscriber};
use crate::consumers::webhooks::WebhookSubscriber;
use crate::consumers::webhooks::manage::WebhooksService;
use crate::events::{Outbox, Subscriber};
use crate::jobs::runner::{Runner, RunnerConfig};
use crate::metrics::Metrics;
use crate::platform::Hub;
use crate::platform::outbound::OutboundPolicy;
use crate::services::auth::AuthService;
use crate::services::bookings::BookingsService;
use crate::services::clients::ClientsService;
use crate::services::invoices::InvoicesService;
use crate::services::org::OrgService;
use crate::services::payments::PaymentsService;
use crate::services::platform::PlatformService;
use crate::services::portal::PortalService;
use crate::session_store::DbSessionStore;
use crate::vault::Vault;

/// Connects and brings the schema up to date.
pub async fn open_database(config: &Config) -> anyhow::Result<DatabaseConnection> {
    let db = db::connect(
        &config.database_url,
        config.database_max_connections,
        config.database_schema.as_deref(),
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

/// What every part of a running Hitch shares: the database, the change hub, the
/// outbox with its subscribers, the job kinds, the metrics and the vault. Cheap to clone.
#[derive(Clone)]
pub struct Platform {
    pub db: DatabaseConnection,
    pub hub: Hub,
    /// Domain writes commit through it; it hands their events to the consumers.
    pub outbox: Outbox,
    pub jobs: Arc<jobs::Registry>,
    pub metrics: Metrics,
    pub vault: Vault,
    /// Where outbound calls (webhooks, later providers) may go.
    pub outbound: OutboundPolicy,
    /// How long a webhook receiver has to answer.
    pub webhook_timeout: std::time::Duration,
    pub stripe: stripe::Stripe,
    /// The Stripe webhook endpoint's per-organization secrets, cached briefly.
    pub stripe_secrets: stripe::inbound::SecretCache,
    /// Stores Stripe's inbound events, many per transaction.
    pub stripe_intake: stripe::intake::Intake,
    /// Failed guest-link lookups per client address (the guessing limit).
    pub portal_guesses: services::portal::Guesses,
    /// Wrong passwords per account and address (the sign-in throttle).
    pub sign_in_limits: services::auth::SignInLimits,
    /// Turns for SQLite's single writer, shared by the busiest writers.
    pub write_gate: db::WriteGate,
    /// What the notification consumer and its dashboard share.
    pub notify: notifications::Deps,
    /// Answers calendar apps polling feed links (with its caches).
    pub feeds: services::calendars::feed_serve::FeedServer,
    /// What the calendar sync jobs and their dashboard share.
    pub calendars: calendars::Deps,
}

impl Platform {
    /// Must run inside the tokio runtime (on PostgreSQL it starts LISTEN/NOTIFY tasks).
    pub fn new(config: &Config, db: DatabaseConnection) -> anyhow::Result<Platform> {
        let vault = Vault::new(config.keyring()?);
        let outbound = config.outbound_policy()?;
        let hub = Hub::start(&db, config.database_schema.as_deref());
        let write_gate = db::WriteGate::for_db(&db);
        let notify = notifications::Deps {
            vault: vault.clone(),
            policy: outbound.clone(),
            links: Arc::new(GuestLinks {
                db: db.clone(),
                vault: vault.clone(),
                public_url: config.public_url.clone(),
            }),
            public_url: config.public_url.clone(),
            twilio_api_base: config.twilio_api_base.clone(),
            sendgrid_api_base: config.sendgrid_api_base.clone(),
            smtp_roots: config.smtp_roots()?.map(Arc::new),
            outbox: Arc::default(),
        };
        let calendars = calendar_composition::deps(config, &vault, &hub, &outbound);
        // Every consumer of domain events, in the order they see each event.
        let subscribers: Vec<Arc<dyn Subscriber>> = vec![
            Arc::new(WebhookSubscriber::new(
                &hub,
                vault.clone(),
                outbound.clone(),
                std::time::Duration::from_secs(config.webhook_timeout_seconds),
            )),
            Arc::new(NotificationSubscriber::new(&hub, notify.clone())),
            Arc::new(CalendarSubscriber::new(&hub, calendars.clone())),
        ];
        let outbox = Outbox::new(db.clone(), hub.clone(), subscribers);
        // A calendar may move or cancel bookings, through the booking rules.
        let _ = calendars
            .changes
            .set(Arc::new(calendar_composition::BookingChanges {
                outbox: outbox.downgrade(),
                db: db.clone(),
            }));
        // The notification jobs emit events of their own (a failure, a broken channel).
        let _ = notify.outbox.set(outbox.downgrade());
        let stripe = stripe::Stripe {
            db: db.clone(),
            outbox: outbox.clone(),
            vault: vault.clone(),
            api_base: config.stripe_api_base.clone(),
            public_url: config.public_url.clone(),
            link_ttl_secs: config.stripe_link_hours * 3600,
            gate: write_gate.clone(),
        };
        let mut registry = jobs::Registry::standard();
        outbox.register(&mut registry);
        stripe::process::register(&mut registry, stripe.clone());
        stripe::reconcile::register(&mut registry, stripe.clone());
        let stripe_intake = stripe::intake::Intake::start(stripe.clone());
        // Every kind's queue series exist from the start, at zero.
        let metrics = Metrics::with_job_kinds(&registry.names());
        let feeds = services::calendars::feed_serve::FeedServer::start(
            db.clone(),
            &hub,
            &config.public_url,
            config.feed_fetches_per_minute,
        );
        Ok(Platform {
            calendars,
            feeds,
            stripe_intake,
            hub,
            outbox,
            jobs: Arc::new(registry),
            metrics,
            vault,
            outbound,
            webhook_timeout: std::time::Duration::from_secs(config.webhook_timeout_seconds),
            stripe,
            stripe_secrets: stripe::inbound::SecretCache::default(),
            portal_guesses: services::portal::guesses(&db),
            sign_in_limits: services::auth::SignInLimits::new(&db),
            write_gate,
            notify,
            db,
        })
    }
}

/// The portal's manage links, for notifications (which may not name a service).
struct GuestLinks {
    db: DatabaseConnection,
    vault: Vault,
    public_url: String,
}

#[async_trait::async_trait]
impl notifications::GuestLinks for GuestLinks {
    async fn manage_url(&self, org_id: &str, booking_id: &str) -> Result<Option<String>, String> {
        services::portal::message_link(&self.db, &self.vault, &self.public_url, org_id, booking_id)
            .await
            .map(Some)
            .map_err(|e| e.to_string())
    }
}

pub fn portal_service(p: &Platform) -> PortalService {
    PortalService {
        bookings: BookingsService {
            db: p.db.clone(),
            outbox: p.outbox.clone(),
        },
        stripe: p.stripe.clone(),
        guesses: p.portal_guesses.clone(),
    }
}

pub fn webhooks_service(p: &Platform) -> WebhooksService {
    WebhooksService::new(
        p.outbox.clone(),
        p.vault.clone(),
        p.outbound.clone(),
        p.webhook_timeout,
    )
}

pub fn notifications_service(p: &Platform) -> notifications::manage::NotificationsService {
    notifications::manage::NotificationsService::new(p.db.clone(), p.hub.clone(), p.notify.clone())
}

pub fn calendar_sync_service(p: &Platform) -> calendars::manage::CalendarSyncService {
    calendars::manage::CalendarSyncService {
        db: p.db.clone(),
        hub: p.hub.clone(),
        deps: p.calendars.clone(),
    }
}

pub fn calendar_service(p: &Platform) -> services::calendars::CalendarService {
    services::calendars::CalendarService {
        db: p.db.clone(),
        vault: p.vault.clone(),
        hub: p.hub.clone(),
        public_url: p.notify.public_url.clone(),
        server: p.feeds.clone(),
    }
}

pub fn ports(p: &Platform) -> Ports {
    let db = &p.db;
    Ports {
        auth: Arc::new(AuthService {
            db: db.clone(),
            limits: p.sign_in_limits.clone(),
        }),
        bookings: Arc::new(BookingsService {
            db: db.clone(),
            outbox: p.outbox.clone(),
        }),
        calendar: Arc::new(calendar_service(p)),
        calendar_sync: Arc::new(calendar_sync_service(p)),
        clients: Arc::new(ClientsService {
            db: db.clone(),
            outbox: p.outbox.clone(),
        }),
        invoices: Arc::new(InvoicesService {
            db: db.clone(),
            outbox: p.outbox.clone(),
        }),
        org: Arc::new(OrgService { db: db.clone() }),
        payments: Arc::new(PaymentsService {
            stripe: p.stripe.clone(),
            cache: p.stripe_secrets.clone(),
        }),
        platform: Arc::new(PlatformService {
            db: db.clone(),
            outbox: p.outbox.clone(),
        }),
        notifications: Arc::new(notifications_service(p)),
        portal: Arc::new(portal_service(p)),
        webhooks: Arc::new(webhooks_service(p)),
    }
}

/// Renders the page's inline scripts with the nonce its `Content-Security-Policy`
/// header names (set by [`routes::headers::security_headers`]).
fn use_header_nonce() {
    if let Some(nonce) = use_context::<http::request::Parts>()
        .and_then(|p| p.extensions.get::<routes::headers::CspNonce>().cloned())
    {
        provide_context(leptos::nonce::Nonce::from_value(nonce.0));
    }
}

/// The whole HTTP surface: pages, server functions, health, static files.
pub fn router(config: &Config, platform: &Platform) -> Router {
    let db = platform.db.clone();
    let leptos_options = LeptosOptions::builder()
        .output_name("hitch")
        .site_root(config.site_root.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .site_addr(config.listen)
        .build();
    let ports = ports(platform);
    let routes = generate_route_list(App);
    let app = Router::new()
        .leptos_routes_with_context(
            &leptos_options,
            routes,
            move || {
                provide_context(ports.clone());
                // Before any data is read: live refresh replays changes from here on.
                provide_context(app::components::live::RenderedAt(platform::now_ms()));
                use_header_nonce();
            },
            {
                let options = leptos_options.clone();
                move || shell(options.clone())
            },
        )
        // Pages and server functions only: static files (the fallback) need no session.
        .route_layer(middleware::from_fn_with_state(
            db.clone(),
            routes::guard::require_sign_in,
        ))
        .fallback(leptos_axum::file_and_error_handler_with_context(
            use_header_nonce,
            shell,
        ))
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

    let live = Router::new()
        .route("/live", axum::routing::get(routes::live::stream))
        .route(
            "/webhooks/deliveries.csv",
            axum::routing::get(routes::exports::deliveries_csv),
        )
        .route(
            "/notifications/{file}",
            axum::routing::get(routes::exports::notifications_csv),
        )
        .route(
            "/manage/{token}/booking.ics",
            axum::routing::get(routes::exports::booking_ics),
        )
        .route(
            routes::google::START,
            axum::routing::post(routes::google::start),
        )
        .route(
            routes::google::CALLBACK,
            axum::routing::get(routes::google::callback),
        )
        .with_state(platform.clone());
    Router::new()
        .merge(routes::health::router(db.clone()))
        .route(
            "/metrics",
            axum::routing::get(metrics::endpoint)
                .with_state((platform.metrics.clone(), db.clone()))
                .route_layer(middleware::from_fn_with_state(
                    config.metrics_token.as_ref().map(|t| Arc::new(t.0.clone())),
                    routes::metrics_access::guard,
                )),
        )
        .merge(routes::api::router(
            platform,
            config.api_rate_per_second,
            config.max_body_bytes,
        ))
        .route(
            "/feeds/{file}",
            axum::routing::get(routes::feeds::feed).with_state(platform.feeds.clone()),
        )
        .route(
            calendars::watch::PATH,
            axum::routing::post(routes::google::notice).with_state(platform.clone()),
        )
        .route(
            "/webhooks/stripe/{org_slug}",
            axum::routing::post(stripe::inbound::receive).with_state(
                stripe::inbound::InboundState {
                    stripe: platform.stripe.clone(),
                    cache: platform.stripe_secrets.clone(),
                    intake: platform.stripe_intake.clone(),
                },
            ),
        )
        .merge(
            app.merge(live)
                .layer(sessions)
                // Pages, forms and server functions: refuse what another site sends.
                .layer(middleware::from_fn_with_state(
                    routes::cross_site::SiteOrigin::from_public_url(&config.public_url),
                    routes::cross_site::refuse_cross_site,
                )),
        )
        .layer(middleware::from_fn_with_state(
            platform.metrics.clone(),
            metrics::track,
        ))
        // `validate` has checked the list when the configuration was loaded.
        .layer(middleware::from_fn_with_state(
            config.trusted_proxies().unwrap_or_default(),
            platform::client_ip::resolve,
        ))
        .layer(middleware::from_fn_with_state(
            config.max_body_bytes,
            routes::limits::body_limit,
        ))
        // Fastest level: brotli's default (quality 11) takes seconds per megabyte, which
        // stalled the 9 MB debug WASM for a minute and costs every page its latency.
        .layer(CompressionLayer::new().quality(CompressionLevel::Fastest))
        .layer(middleware::from_fn(routes::headers::security_headers))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(telemetry::span_for))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// A running server: where it listens, the task serving it, and the job workers.
pub struct Running {
    pub addr: SocketAddr,
    pub platform: Platform,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
    pub workers: Option<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Waits for the HTTP server to stop, then for the workers to drain.
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await??;
        if let Some(w) = self.workers {
            w.await?;
        }
        Ok(())
    }
}

/// Binds `config.listen` and serves (and runs jobs) until `shutdown` is cancelled.
pub async fn start(
    config: &Config,
    db: DatabaseConnection,
    shutdown: CancellationToken,
) -> anyhow::Result<Running> {
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr()?;
    let platform = Platform::new(config, db.clone())?;
    db::spawn_checkpointer(db.clone(), platform.write_gate.clone(), shutdown.clone());
    spawn_session_sweeper(db);
    if config.jobs_enabled {
        spawn_stripe_reconciler(
            &platform,
            std::time::Duration::from_secs(config.stripe_reconcile_minutes * 60),
            shutdown.clone(),
        );
    }
    if config.jobs_enabled {
        spawn_calendar_poller(
            &platform,
            std::time::Duration::from_secs(config.calendar_poll_minutes * 60),
            shutdown.clone(),
        );
    }
    let workers = config.jobs_enabled.then(|| {
        Runner {
            db: platform.db.clone(),
            hub: platform.hub.clone(),
            gate: platform.write_gate.clone(),
            registry: platform.jobs.clone(),
            metrics: platform.metrics.clone(),
            config: RunnerConfig {
                concurrency: config.job_concurrency,
                drain: std::time::Duration::from_secs(config.job_drain_seconds),
                ..RunnerConfig::default()
            },
            worker_id: jobs::runner::worker_id(),
        }
        .spawn(shutdown.clone())
    });
    let app = router(config, &platform);
    let task = tokio::spawn(async move {
        // The peer address feeds the guest portal's limit on guessed links.
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
    });
    Ok(Running {
        addr,
        platform,
        task,
        workers,
    })
}

/// Every few minutes, enqueues a Stripe check of each link whose outcome may have been
/// missed. Every process may run it: the sweep stamps what it enqueued, and a check is
/// harmless twice.
fn spawn_stripe_reconciler(p: &Platform, every: std::time::Duration, stop: CancellationToken) {
    let (stripe, registry) = (p.stripe.clone(), p.jobs.clone());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            match stripe::reconcile::sweep(&stripe, &registry).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(links = n, "asking Stripe about unsettled payment links"),
                Err(e) => tracing::warn!(error = %e, "Stripe reconciliation sweep failed"),
            }
        }
    });
}

/// Pulls every connected calendar not pulled for `every` (push notices may be lost or
/// unavailable). Every process may run it: a pull waiting already is not queued twice.
fn spawn_calendar_poller(p: &Platform, every: std::time::Duration, stop: CancellationToken) {
    let (db, hub) = (p.db.clone(), p.hub.clone());
    tokio::spawn(async move {
        // Checked a few times per interval, so a connection is at most ~1.25x late.
        let mut tick = tokio::time::interval(every / 4);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            match calendars::pull::sweep(&db, &hub, every).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(connections = n, "pulling connected calendars"),
                Err(e) => tracing::warn!(error = %e, "calendar poll failed"),
            }
        }
    });
}

/// Deletes expired sessions hourly so the table stays small.
fn spawn_session_sweeper(db: DatabaseConnection) {
    tokio::spawn(async move {
        let store = DbSessionStore::new(db.clone());
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            if let Err(e) = store.delete_expired().await {
                tracing::warn!(error = %e, "could not delete expired sessions");
            }
            match jobs::queue::prune_done(&db, 7).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(jobs = n, "pruned finished jobs older than 7 days"),
                Err(e) => tracing::warn!(error = %e, "could not prune finished jobs"),
            }
            if let Err(e) = routes::api::idempotency::sweep(&db).await {
                tracing::warn!(error = %e, "could not delete old idempotency records");
            }
            if let Err(e) = platform::shared_limits::sweep(&db).await {
                tracing::warn!(error = %e, "could not delete expired limit counts");
            }
        }
    });
}
