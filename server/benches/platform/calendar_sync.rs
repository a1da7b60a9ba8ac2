//! Google Calendar sync figures, against the test suite's fake Google over real HTTP:
//! a booking write through the whole server with and without a connected calendar
//! (the push happens in a job, so the write should barely notice), and 1,000 events
//! made in the calendar arriving as busy blocks (a watch notice, then paged
//! incremental reads).
use std::time::{Duration, Instant};

use chrono::{Duration as Days, Utc};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait};
use server::config::Config;
use server::db::entities::{calendar_connection, client, resource};
use server::platform::ids;
use server::services::demo;
use tokio_util::sync::CancellationToken;

#[path = "../../tests/it/fake_google.rs"]
#[allow(dead_code)] // the tests use more of the fake than the benchmark does
mod fake_google;

use fake_google::{ACCOUNT, FakeGoogle};

const WRITES: usize = 300;
const REMOTE_CHANGES: usize = 1000;

async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            sql,
        ))
        .await
        .expect("query")
        .expect("row");
    row.try_get::<i64>("", "n").expect("n")
}

async fn until(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// `n` bookings created one after another through `/rpc/bookings/create`, each timed.
async fn writes(
    http: &reqwest::Client,
    base: &str,
    resource: &str,
    client: &str,
    first_day: i64,
    n: usize,
) -> Vec<Duration> {
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        // Ten a day, an hour apart, so no write waits for another's slot.
        let day = (Utc::now() + Days::days(first_day + (i / 10) as i64))
            .format("%Y-%m-%d")
            .to_string();
        let start = format!("{:02}:00", 9 + i % 10);
        let end = format!("{:02}:45", 9 + i % 10);
        let form = [
            ("input[resource_id]", resource),
            ("input[client_id]", client),
            ("input[date]", day.as_str()),
            ("input[start_time]", start.as_str()),
            ("input[end_time]", end.as_str()),
            ("input[party_size]", "2"),
            ("input[status]", "confirmed"),
            ("input[notes]", ""),
            ("input[deposit]", ""),
        ];
        let t = Instant::now();
        let res = http
            .post(format!("{base}/rpc/bookings/create"))
            .form(&form)
            .send()
            .await
            .expect("create");
        assert!(res.status().is_success(), "create: {}", res.status());
        let _ = res.bytes().await;
        times.push(t.elapsed());
    }
    times.sort();
    times
}

fn mean(v: &[Duration]) -> Duration {
    v.iter().sum::<Duration>() / v.len().max(1) as u32
}

pub async fn run(config: &Config, db: &DatabaseConnection) {
    let google = FakeGoogle::start().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let mut config = config.clone();
    config.listen = format!("127.0.0.1:{port}").parse().expect("addr");
    config.public_url = format!("http://127.0.0.1:{port}");
    google.configure(&mut config);
    let org = demo::seed_demo(db).await.expect("demo");
    let room = resource::ActiveModel {
        id: Set(ids::new("res")),
        organization_id: Set(org.id.clone()),
        name: Set("Bench hall".into()),
        capacity: Set(1000),
        slot_minutes: Set(60),
        opening_hours: Set(
            serde_json::to_string(&app::model::resource::OpeningHours::every_day(0, 24 * 60))
                .expect("json"),
        ),
        lock_version: Set(0),
        created_at: Set(Utc::now()),
    };
    let room = resource::Entity::insert(room)
        .exec(db)
        .await
        .expect("resource")
        .last_insert_id;
    let guest = client::Entity::find()
        .one(db)
        .await
        .expect("query")
        .expect("a demo client")
        .id;
    let stop = CancellationToken::new();
    let running = server::start(&config, db.clone(), stop.clone())
        .await
        .expect("server starts");
    let base = format!("http://{}", running.addr);
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let res = http
        .post(format!("{base}/rpc/auth/login"))
        .form(&[
            ("email", demo::DEMO_EMAIL),
            ("password", demo::DEMO_PASSWORD),
        ])
        .send()
        .await
        .expect("sign in");
    assert!(res.status().is_success(), "sign in: {}", res.status());

    let without = writes(&http, &base, &room, &guest, 10, WRITES).await;
    let res = http
        .post(format!("{base}/integrations/google/connect"))
        .form(&[("resource_id", "")])
        .send()
        .await
        .expect("connect");
    assert!(
        res.url().as_str().contains("notice=calendar_connected"),
        "connect ended at {}",
        res.url()
    );
    until("the first sync", Duration::from_secs(60), async || {
        calendar_connection::Entity::find()
            .one(db)
            .await
            .ok()
            .flatten()
            .is_some_and(|c| c.last_sync_at.is_some())
    })
    .await;
    // The connect writes every upcoming booking to Google: let that finish first.
    let settled = "SELECT COUNT(*) AS n FROM jobs WHERE kind LIKE 'calendar.%' \
                   AND status IN ('queued', 'running')";
    until("the backfill", Duration::from_secs(120), async || {
        count(db, settled).await == 0
    })
    .await;
    let with = writes(&http, &base, &room, &guest, 50, WRITES).await;
    let t = Instant::now();
    until("the pushes", Duration::from_secs(120), async || {
        count(db, settled).await == 0
    })
    .await;
    let drained = t.elapsed();
    let p = |v: &[Duration], q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "booking write over HTTP, {WRITES} one at a time: without a calendar p50 {:.2} ms mean {:.2} ms; \
         with Google connected p50 {:.2} ms mean {:.2} ms ({:.2}x at p50, {:.2}x mean); \
         their pushes done {:.0} ms after the last write",
        p(&without, 0.5).as_secs_f64() * 1e3,
        mean(&without).as_secs_f64() * 1e3,
        p(&with, 0.5).as_secs_f64() * 1e3,
        mean(&with).as_secs_f64() * 1e3,
        p(&with, 0.5).as_secs_f64() / p(&without, 0.5).as_secs_f64(),
        mean(&with).as_secs_f64() / mean(&without).as_secs_f64(),
        drained.as_secs_f64() * 1e3,
    );

    let blocks = "SELECT COUNT(*) AS n FROM calendar_busy_blocks";
    let before = count(db, blocks).await;
    let t = Instant::now();
    google
        .user_create_many(ACCOUNT, REMOTE_CHANGES, Utc::now() + Days::days(400))
        .await;
    until("the busy blocks", Duration::from_secs(120), async || {
        count(db, blocks).await >= before + REMOTE_CHANGES as i64
    })
    .await;
    println!(
        "{REMOTE_CHANGES} events made in Google to {REMOTE_CHANGES} busy blocks (notice, 4 pages): {:.0} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    stop.cancel();
}
