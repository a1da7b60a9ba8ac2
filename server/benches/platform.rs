//! Platform benchmark: prints figures, asserts nothing (targets live in the README).
//!
//! - no-op jobs per second with 1, 4 and 16 workers (claim and complete in batches);
//! - added latency of a booking write's event insert, inside the write transaction, and
//!   of its notification bookkeeping (three rules);
//! - template renders per second on one core (a confirmation email, a Slack message);
//! - enqueue-to-start latency of a job when the runner is idle;
//! - a calendar feed of 10,000 bookings, and its 304 answer against `/healthz`;
//! - Google Calendar sync against the fake: a booking write with and without a
//!   connection, and 1,000 remote events arriving as busy blocks.
//!
//! `HITCH_BENCH_POSTGRES` (default postgres://postgres@127.0.0.1:5432/test) is used when
//! reachable; `HITCH_BENCH_JOBS` sets the job count (default 20000); `HITCH_BENCH_ONLY`
//! (`jobs`, `feeds` or `calendar`) runs one part.
#[path = "platform/calendar_sync.rs"]
mod calendar_sync;
#[path = "platform/feeds.rs"]
mod feeds;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait};
use serde_json::json;
use server::config::{Config, Sensitive};
use server::consumers::notifications;
use server::db::audit;
use server::db::entities::booking;
use server::events::{self, EventType, Outbox};
use server::jobs::runner::{Runner, RunnerConfig};
use server::jobs::{self, Backoff, Handler, JobContext, JobError, Kind, NewJob, Registry};
use server::metrics::Metrics;
use server::platform::{Hub, ids};
use server::services::demo;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

struct Count(Arc<AtomicUsize>, Arc<Notify>, usize);

#[async_trait]
impl Handler for Count {
    async fn run(&self, _job: &JobContext) -> Result<(), JobError> {
        if self.0.fetch_add(1, Ordering::Relaxed) + 1 == self.2 {
            self.1.notify_one();
        }
        Ok(())
    }
}

struct Ping(mpsc::UnboundedSender<Instant>);

#[async_trait]
impl Handler for Ping {
    async fn run(&self, _job: &JobContext) -> Result<(), JobError> {
        let _ = self.0.send(Instant::now());
        Ok(())
    }
}

fn kind(name: &'static str, handler: Arc<dyn Handler>) -> Kind {
    Kind {
        name,
        timeout: Duration::from_secs(10),
        max_attempts: 3,
        backoff: Backoff::new(Duration::from_secs(1), Duration::from_secs(10)),
        handler,
    }
}

async fn database(backend: &str) -> Option<(Config, DatabaseConnection)> {
    let id = ulid::Ulid::new().to_string().to_lowercase();
    let mut config = Config {
        master_key: Some(Sensitive(
            server::vault::MasterKey::generate_text().to_string(),
        )),
        database_max_connections: 20,
        ..Config::default()
    };
    if backend == "sqlite" {
        let dir = std::env::temp_dir().join(format!("hitch-bench-{id}"));
        config.database_url = format!("sqlite://{}/bench.db?mode=rwc", dir.display());
    } else {
        let url = std::env::var("HITCH_BENCH_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let admin = sea_orm::Database::connect(&url).await.ok()?;
        let schema = format!("bench_{id}");
        admin
            .execute_unprepared(&format!("CREATE SCHEMA {schema}"))
            .await
            .ok()?;
        config.database_url = url;
        config.database_schema = Some(schema);
    }
    let db = server::open_database(&config).await.ok()?;
    Some((config, db))
}

async fn drop_schema(config: &Config, db: &DatabaseConnection) {
    if let Some(schema) = &config.database_schema {
        let _ = db
            .execute_unprepared(&format!("DROP SCHEMA {schema} CASCADE"))
            .await;
    }
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

async fn throughput(config: &Config, db: &DatabaseConnection, workers: usize, n: usize) -> f64 {
    db.execute_unprepared("DELETE FROM job_attempts; DELETE FROM jobs")
        .await
        .expect("clean");
    let done = Arc::new(AtomicUsize::new(0));
    let all = Arc::new(Notify::new());
    let mut registry = Registry::default();
    registry.add(kind(
        "bench.count",
        Arc::new(Count(done.clone(), all.clone(), n)),
    ));
    let registry = Arc::new(registry);
    let hub = Hub::start(db, config.database_schema.as_deref());
    let jobs: Vec<NewJob> = (0..n)
        .map(|_| NewJob::new("bench.count", json!({})))
        .collect();
    jobs::enqueue(db, &registry, &jobs).await.expect("enqueue");
    let stop = CancellationToken::new();
    let start = Instant::now();
    let runner = Runner {
        db: db.clone(),
        hub: hub.clone(),
        gate: server::db::WriteGate::for_db(db),
        registry,
        metrics: Metrics::new(),
        config: RunnerConfig {
            concurrency: workers,
            batch: 256,
            ..RunnerConfig::default()
        },
        worker_id: jobs::runner::worker_id(),
    }
    .spawn(stop.clone());
    all.notified().await;
    // Counted when the outcomes are recorded, not just run.
    loop {
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT COUNT(*) AS n FROM jobs WHERE status = 'done'",
            ))
            .await
            .expect("count")
            .expect("row");
        if row.try_get::<i64>("", "n").expect("n") as usize == n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let secs = start.elapsed().as_secs_f64();
    stop.cancel();
    let _ = runner.await;
    n as f64 / secs
}

async fn event_cost(
    db: &DatabaseConnection,
    outbox: &Outbox,
    org: &server::db::entities::organization::Model,
    rounds: usize,
) -> (Vec<Duration>, Vec<Duration>) {
    let resource: String = server::db::entities::resource::Entity::find()
        .one(db)
        .await
        .expect("q")
        .expect("resource")
        .id;
    let client: String = server::db::entities::client::Entity::find()
        .one(db)
        .await
        .expect("q")
        .expect("client")
        .id;
    let actor = app::model::auth::Actor {
        org_id: org.id.clone(),
        kind: app::model::auth::ActorKind::System,
        id: "bench".into(),
        label: "bench".into(),
    };
    let (mut with, mut event_only) = (Vec::new(), Vec::new());
    for i in 0..rounds {
        let start = Instant::now();
        let mut uow = outbox.begin().await.expect("begin");
        let now = chrono::Utc::now();
        let row = booking::Model {
            id: ids::new("bk"),
            organization_id: org.id.clone(),
            resource_id: resource.clone(),
            client_id: client.clone(),
            starts_at: now + chrono::Duration::days(400 + i as i64),
            ends_at: now + chrono::Duration::days(400 + i as i64) + chrono::Duration::hours(1),
            party_size: 2,
            status: "confirmed".into(),
            notes: String::new(),
            deposit_minor: 0,
            revision: 1,
            reminders_opt_out: false,
            created_at: now,
            updated_at: now,
        };
        booking::Entity::insert(booking::ActiveModel {
            id: Set(row.id.clone()),
            organization_id: Set(row.organization_id.clone()),
            resource_id: Set(row.resource_id.clone()),
            client_id: Set(row.client_id.clone()),
            starts_at: Set(row.starts_at),
            ends_at: Set(row.ends_at),
            party_size: Set(row.party_size),
            status: Set(row.status.clone()),
            notes: Set(String::new()),
            deposit_minor: Set(0),
            revision: Set(1),
            reminders_opt_out: Set(false),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec_without_returning(uow.txn())
        .await
        .expect("insert");
        let e0 = Instant::now();
        uow.emit(
            &org.id,
            EventType::BookingCreated,
            &row.id,
            events::payloads::booking(&row, "EUR"),
        )
        .await
        .expect("emit");
        event_only.push(e0.elapsed());
        audit::record(
            uow.txn(),
            &actor,
            "booking.created",
            "booking",
            &row.id,
            json!({}),
        )
        .await
        .expect("audit");
        uow.commit().await.expect("commit");
        with.push(start.elapsed());
    }
    with.sort();
    event_only.sort();
    (with, event_only)
}

async fn wake_latency(config: &Config, db: &DatabaseConnection, rounds: usize) -> Vec<Duration> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut registry = Registry::default();
    registry.add(kind("bench.ping", Arc::new(Ping(tx))));
    let registry = Arc::new(registry);
    let hub = Hub::start(db, config.database_schema.as_deref());
    let stop = CancellationToken::new();
    let runner = Runner {
        db: db.clone(),
        hub: hub.clone(),
        gate: server::db::WriteGate::for_db(db),
        registry: registry.clone(),
        metrics: Metrics::new(),
        config: RunnerConfig::default(),
        worker_id: jobs::runner::worker_id(),
    }
    .spawn(stop.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut out = Vec::new();
    for _ in 0..rounds {
        // Idle first: the runner is asleep when the job arrives.
        tokio::time::sleep(Duration::from_millis(30)).await;
        let t0 = Instant::now();
        jobs::enqueue_now(db, &hub, &registry, &[NewJob::new("bench.ping", json!({}))])
            .await
            .expect("enqueue");
        let started = rx.recv().await.expect("ping");
        out.push(started - t0);
    }
    stop.cancel();
    let _ = runner.await;
    out.sort();
    out
}

/// The manage link is not what is measured here.
struct NoLinks;

#[async_trait]
impl notifications::GuestLinks for NoLinks {
    async fn manage_url(&self, _org: &str, _booking: &str) -> Result<Option<String>, String> {
        Ok(None)
    }
}

/// An outbox whose only subscriber is notifications, with a channel and three rules.
async fn notifications_outbox(config: &Config, db: &DatabaseConnection, org_id: &str) -> Outbox {
    use server::db::entities::{notification_channel, notification_rule};
    let channel = ids::new("nch");
    notification_channel::Entity::insert(notification_channel::ActiveModel {
        id: Set(channel.clone()),
        organization_id: Set(org_id.into()),
        kind: Set("smtp".into()),
        name: Set("Bench email".into()),
        settings: Set("{}".into()),
        secret_hint: Set(String::new()),
        enabled: Set(true),
        monthly_quota: Set(None),
        consecutive_failures: Set(0),
        paused_until: Set(None),
        broken_at: Set(None),
        broken_reason: Set(None),
        last_success_at: Set(None),
        last_failure_at: Set(None),
        created_at: Set(0),
        updated_at: Set(0),
    })
    .exec_without_returning(db)
    .await
    .expect("channel");
    for (event_type, recipient, hours) in [
        ("booking.created", "guest", None),
        ("booking.created", "team", None),
        ("booking.reminder", "guest", Some(24)),
    ] {
        notification_rule::Entity::insert(notification_rule::ActiveModel {
            id: Set(ids::new("nru")),
            organization_id: Set(org_id.into()),
            event_type: Set(event_type.into()),
            channel_id: Set(channel.clone()),
            recipient: Set(recipient.into()),
            remind_hours: Set(hours),
            enabled: Set(true),
            created_at: Set(0),
        })
        .exec_without_returning(db)
        .await
        .expect("rule");
    }
    let deps = notifications::Deps {
        vault: server::vault::Vault::new(config.keyring().expect("keyring")),
        policy: config.outbound_policy().expect("policy"),
        links: Arc::new(NoLinks),
        public_url: config.public_url.clone(),
        twilio_api_base: config.twilio_api_base.clone(),
        sendgrid_api_base: config.sendgrid_api_base.clone(),
        smtp_roots: None,
        outbox: Arc::default(),
    };
    let hub = Hub::local();
    Outbox::new(
        db.clone(),
        hub.clone(),
        vec![Arc::new(notifications::NotificationSubscriber::new(
            &hub, deps,
        ))],
    )
}

/// Renders per second on one core: a confirmation email (subject, text and HTML parts)
/// and a Slack message, with the sample context.
fn render_rates() {
    use notifications::render::{Escape, email_html, render};
    let ctx = notifications::variables::sample("booking.created");
    let (subject, body) = notifications::defaults::template("booking.created", "email");
    let (_, slack) = notifications::defaults::template("booking.created", "slack");
    let n = 100_000;
    let start = Instant::now();
    for _ in 0..n {
        let s = render(Escape::Plain, &subject, &ctx).expect("render");
        std::hint::black_box(render(Escape::Plain, &body, &ctx).expect("render"));
        std::hint::black_box(email_html(
            &render(Escape::Html, &body, &ctx).expect("render"),
            &s,
        ));
    }
    let email = n as f64 / start.elapsed().as_secs_f64();
    let start = Instant::now();
    for _ in 0..n {
        std::hint::black_box(render(Escape::Slack, &slack, &ctx).expect("render"));
    }
    let chat = n as f64 / start.elapsed().as_secs_f64();
    println!("== templates (one core)");
    println!(
        "confirmation email (subject + text + HTML): {email:>9.0} emails/s ({:.0} template renders/s)",
        email * 3.0
    );
    println!("Slack message body:                         {chat:>9.0} renders/s");
}

/// Whether `HITCH_BENCH_ONLY` leaves this part in.
fn wanted(part: &str) -> bool {
    std::env::var("HITCH_BENCH_ONLY").map_or(true, |only| only == part)
}

#[tokio::main]
async fn main() {
    if wanted("jobs") {
        render_rates();
    }
    let n: usize = std::env::var("HITCH_BENCH_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    for backend in ["sqlite", "postgres"] {
        let Some((config, db)) = database(backend).await else {
            println!("{backend}: not reachable, skipped");
            continue;
        };
        println!("== {backend}");
        if wanted("jobs") || wanted("feeds") {
            let org = demo::seed_demo(&db).await.expect("demo");
            if wanted("jobs") {
                jobs_part(&config, &db, &org, n).await;
            }
            if wanted("feeds") {
                feeds::run(&config, &db, &org).await;
            }
        }
        drop_schema(&config, &db).await;
        // A fresh database: the sync figures should not read the feed's 10,000 rows.
        if wanted("calendar")
            && let Some((config, db)) = database(backend).await
        {
            calendar_sync::run(&config, &db).await;
            drop_schema(&config, &db).await;
        }
    }
}

/// The queue, the event insert, notification bookkeeping and the idle wake-up.
async fn jobs_part(
    config: &Config,
    db: &DatabaseConnection,
    org: &server::db::entities::organization::Model,
    n: usize,
) {
    {
        for workers in [1, 4, 16] {
            let rate = throughput(config, db, workers, n).await;
            println!("no-op jobs, {workers:>2} workers: {rate:>8.0} jobs/s ({n} jobs)");
        }
        // No subscribers: the cost of the event's own insert.
        let bare = Outbox::new(db.clone(), Hub::local(), Vec::new());
        let (with, event) = event_cost(db, &bare, org, 500).await;
        println!(
            "booking write txn (insert + event + audit): p50 {}  p99 {}",
            ms(pct(&with, 0.5)),
            ms(pct(&with, 0.99))
        );
        // The same write with notifications listening: two rules on booking.created and
        // a reminder rule, so each booking adds three rows and three jobs.
        let notified = notifications_outbox(config, db, &org.id).await;
        let (with_notify, _) = event_cost(db, &notified, org, 500).await;
        println!(
            "  with 3 notification rules:               p50 {}  p99 {}  (+{:.0} % at p50)",
            ms(pct(&with_notify, 0.5)),
            ms(pct(&with_notify, 0.99)),
            (pct(&with_notify, 0.5).as_secs_f64() / pct(&with, 0.5).as_secs_f64() - 1.0) * 100.0
        );
        println!(
            "  of which the event insert:               p50 {}  p99 {}",
            ms(pct(&event, 0.5)),
            ms(pct(&event, 0.99))
        );
        let wake = wake_latency(config, db, 200).await;
        println!(
            "enqueue-to-start when idle:                 p50 {}  p99 {}",
            ms(pct(&wake, 0.5)),
            ms(pct(&wake, 0.99))
        );
    }
}
