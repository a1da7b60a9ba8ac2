//! Calendar feed figures: building a feed of 10,000 bookings (server time, no HTTP),
//! and through the whole router in-process, a 304 answer against `/healthz`.
use std::time::{Duration, Instant};

use axum::body::Body;
use chrono::{Duration as Days, Utc};
use http::Request;
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait};
use server::config::Config;
use server::db::entities::{booking, calendar_feed, client, organization, resource};
use server::platform::ids;
use server::services::calendars::feed_build::{FeedSpec, build};
use tower::ServiceExt;

const BOOKINGS: usize = 10_000;

async fn seed(db: &DatabaseConnection, org: &organization::Model) {
    let resource = resource::Entity::find()
        .one(db)
        .await
        .expect("q")
        .expect("resource");
    let clients: Vec<client::Model> = client::Entity::find().all(db).await.expect("clients");
    let now = Utc::now();
    let rows: Vec<booking::ActiveModel> = (0..BOOKINGS)
        .map(|i| {
            let start = now + Days::minutes(30 * i as i64 - 60 * 24 * 30);
            booking::ActiveModel {
                id: Set(ids::new("bk")),
                organization_id: Set(org.id.clone()),
                resource_id: Set(resource.id.clone()),
                client_id: Set(clients[i % clients.len()].id.clone()),
                starts_at: Set(start),
                ends_at: Set(start + Days::minutes(90)),
                party_size: Set(2 + (i % 5) as i32),
                status: Set(if i % 10 == 0 { "pending" } else { "confirmed" }.into()),
                notes: Set(if i % 3 == 0 {
                    "Window table, one high chair; allergic to nuts, shellfish".into()
                } else {
                    String::new()
                }),
                deposit_minor: Set(0),
                revision: Set(1),
                reminders_opt_out: Set(false),
                created_at: Set(now),
                updated_at: Set(now),
            }
        })
        .collect();
    for chunk in rows.chunks(500) {
        booking::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await
            .expect("bookings");
    }
}

fn p50(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn time_requests(app: &axum::Router, n: usize, req: impl Fn() -> Request<Body>) -> Duration {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let res = app.clone().oneshot(req()).await.expect("response");
        let _ = axum::body::to_bytes(res.into_body(), usize::MAX).await;
        times.push(t.elapsed());
    }
    p50(times)
}

pub async fn run(config: &Config, db: &DatabaseConnection, org: &organization::Model) {
    seed(db, org).await;
    let spec = FeedSpec {
        org_id: org.id.clone(),
        resource_id: None,
        busy_only: false,
        label: "Bench".into(),
    };
    let mut builds = Vec::new();
    let mut size = 0;
    for _ in 0..7 {
        let t = Instant::now();
        let ics = build(db, &spec, "https://hitch.example", Utc::now())
            .await
            .expect("build");
        builds.push(t.elapsed());
        size = ics.len();
    }
    let events = BOOKINGS;
    println!(
        "feed of {events} bookings (full details): p50 {:.1} ms to build, {:.1} MB",
        p50(builds).as_secs_f64() * 1000.0,
        size as f64 / 1e6
    );

    // Through the router: the feed's 304 against /healthz, one request at a time.
    let mut config = config.clone();
    config.feed_fetches_per_minute = u32::MAX;
    let token = "b".repeat(43);
    calendar_feed::Entity::insert(calendar_feed::ActiveModel {
        id: Set(ids::new("feed")),
        organization_id: Set(org.id.clone()),
        resource_id: Set(None),
        label: Set("Bench".into()),
        privacy: Set("full".into()),
        token_hash: Set(server::services::calendars::hash(&token)),
        expires_at: Set(None),
        revoked_at: Set(None),
        created_by: Set(None),
        created_at: Set(0),
        last_fetched_at: Set(None),
    })
    .exec_without_returning(db)
    .await
    .expect("feed");
    let platform = server::Platform::new(&config, db.clone()).expect("platform");
    let app = server::router(&config, &platform);
    let path = format!("/feeds/{token}.ics");
    let first = app
        .clone()
        .oneshot(Request::get(&path).body(Body::empty()).expect("req"))
        .await
        .expect("feed");
    let etag = first.headers()["etag"].to_str().expect("etag").to_string();
    let n = 3000;
    let health = time_requests(&app, n, || {
        Request::get("/healthz").body(Body::empty()).expect("req")
    })
    .await;
    let not_modified = time_requests(&app, n, || {
        Request::get(&path)
            .header("if-none-match", &etag)
            .body(Body::empty())
            .expect("req")
    })
    .await;
    let cached = time_requests(&app, 50, || {
        Request::get(&path).body(Body::empty()).expect("req")
    })
    .await;
    println!(
        "through the router, p50: /healthz {:.1} µs, feed 304 {:.1} µs ({:.2}x), feed 200 from cache {:.0} µs",
        health.as_secs_f64() * 1e6,
        not_modified.as_secs_f64() * 1e6,
        not_modified.as_secs_f64() / health.as_secs_f64(),
        cached.as_secs_f64() * 1e6
    );
}
