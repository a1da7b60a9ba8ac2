//! Two-way Google Calendar sync against the fake Google: connecting over OAuth with
//! PKCE, bookings pushed as events, changes made in Google pulled back under each
//! conflict rule, busy time blocking slots, and the failure paths (revoked grant,
//! expired sync token, rate limits, wrong channel token).
use std::time::Duration;

use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;
use server::db::entities::{booking, calendar_connection};

use crate::fake_google::{ACCOUNT, FakeGoogle};
use crate::support::{TestApp, booking_form, future_date, with};

const WAIT: Duration = Duration::from_secs(20);

/// An app whose public address is where it listens (Google redirects back there and
/// posts notices to it), pointed at a fresh fake Google, signed in.
async fn spawn(google: &FakeGoogle) -> Option<TestApp> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let app = TestApp::spawn_with(|c| {
        c.listen = format!("127.0.0.1:{port}").parse().expect("addr");
        c.public_url = format!("http://127.0.0.1:{port}");
        google.configure(c);
    })
    .await?;
    app.sign_in().await;
    Some(app)
}

/// Runs the OAuth dance in the app's client: the form, Google's consent, the callback.
async fn connect(app: &TestApp, resource_id: &str) -> String {
    let res = app
        .client
        .post(format!("{}/integrations/google/connect", app.base))
        .form(&[("resource_id", resource_id)])
        .send()
        .await
        .expect("connect");
    assert!(
        res.url().as_str().contains("notice=calendar_connected"),
        "ended at {}",
        res.url()
    );
    let c = calendar_connection::Entity::find()
        .filter(calendar_connection::Column::OrganizationId.eq(&app.org_id))
        .one(&app.db)
        .await
        .expect("query")
        .expect("a connection");
    c.id
}

async fn connection(app: &TestApp, id: &str) -> calendar_connection::Model {
    calendar_connection::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .expect("query")
        .expect("connection")
}

async fn synced(app: &TestApp, id: &str) {
    app.eventually("the first pull", WAIT, || async {
        connection(app, id).await.last_sync_at.is_some()
    })
    .await;
}

async fn set_strategy(app: &TestApp, id: &str, strategy: &str) {
    let (status, body) = app
        .post(
            "/rpc/calendar/sync/update",
            &[("id", id), ("strategy", strategy)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn booking_row(app: &TestApp, id: &str) -> booking::Model {
    booking::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .expect("query")
        .expect("booking")
}

/// A confirmed booking for 2 on `resource`, 19:00–21:00 local, a few days ahead.
async fn book(app: &TestApp, resource: &str, day: &str) -> Value {
    let client = app.a_client().await;
    let (status, b) = app
        .post(
            "/rpc/bookings/create",
            &booking_form(resource, &client, day, "19:00", "21:00", "2"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{b}");
    b
}

fn event_id(booking_id: &str) -> String {
    server::consumers::calendars::google::event_id(booking_id)
}

fn start_of(e: &Value) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(e["start"]["dateTime"].as_str().expect("start"))
        .expect("time")
        .with_timezone(&chrono::Utc)
}

async fn pushed(app: &TestApp, google: &FakeGoogle, booking_id: &str) -> Value {
    let id = event_id(booking_id);
    app.eventually("the booking's event in Google", WAIT, || async {
        google.event(ACCOUNT, &id).is_some()
    })
    .await;
    google.event(ACCOUNT, &id).expect("event")
}

#[tokio::test]
async fn connecting_stores_tokens_in_the_vault_and_bookings_follow_into_google() {
    let google = FakeGoogle::start().await;
    let Some(app) = spawn(&google).await else {
        return;
    };
    let resource = app.resource("Terrace", 4).await;
    let id = connect(&app, "").await;
    let c = connection(&app, &id).await;
    assert_eq!(c.account, ACCOUNT);
    assert_eq!(c.state, "connected");
    assert_eq!(c.target_calendar_id.as_deref(), Some(ACCOUNT));
    // The tokens are sealed: no refresh or access token in any table in clear text.
    let dump = app
        .scalar("SELECT COUNT(*) AS n FROM secrets WHERE ciphertext LIKE '%refresh%' OR hint LIKE '%1//%'")
        .await;
    assert_eq!(dump, 0);
    assert_eq!(
        app.scalar("SELECT COUNT(*) AS n FROM secrets WHERE name LIKE 'calendar:%'")
            .await,
        1
    );
    synced(&app, &id).await;
    assert!(
        google.channels() >= 1,
        "a push channel watches the calendar"
    );
    // The bookings already ahead are written too, not only the ones changed from now on.
    let upcoming = {
        use sea_orm::PaginatorTrait;
        booking::Entity::find()
            .filter(booking::Column::OrganizationId.eq(&app.org_id))
            .filter(booking::Column::EndsAt.gt(chrono::Utc::now()))
            .filter(booking::Column::Status.is_in(["pending", "confirmed"]))
            .count(&app.db)
            .await
            .expect("count")
    };
    assert!(upcoming > 0, "the demo has upcoming bookings");
    app.eventually("upcoming bookings in Google", WAIT, || async {
        google.events(ACCOUNT).len() as u64 == upcoming
    })
    .await;

    let day = future_date(5);
    let b = book(&app, &resource, &day).await;
    let bid = b["id"].as_str().expect("id").to_string();
    let e = pushed(&app, &google, &bid).await;
    let row = booking_row(&app, &bid).await;
    assert_eq!(start_of(&e), row.starts_at);
    assert_eq!(
        e["extendedProperties"]["private"]["hitchBooking"],
        bid.as_str()
    );
    assert_eq!(e["status"], "confirmed");

    // A move in Hitch updates the same event, with the etag it last saw.
    let client = app.a_client().await;
    let mut form = booking_form(&resource, &client, &day, "12:00", "14:00", "2");
    form.push(("id", &bid));
    form.push(("revision", "1"));
    let (status, body) = app.post("/rpc/bookings/update", &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let moved = booking_row(&app, &bid).await;
    app.eventually("the event moved", WAIT, || async {
        google
            .event(ACCOUNT, &event_id(&bid))
            .is_some_and(|e| start_of(&e) == moved.starts_at)
    })
    .await;
    assert!(
        google.count("PUT", &format!("/events/{}", event_id(&bid))) >= 1,
        "moved by updating the same event"
    );

    // Cancelled in Hitch: deleted in Google.
    let (status, body) = app
        .post(
            "/rpc/bookings/cancel",
            &[("id", bid.as_str()), ("revision", "2"), ("reason", "ill")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.eventually("the event deleted", WAIT, || async {
        google
            .event(ACCOUNT, &event_id(&bid))
            .is_some_and(|e| e["status"] == "cancelled")
    })
    .await;

    // Disconnecting revokes the grant and forgets the connection and its secret.
    let (status, body) = app
        .post("/rpc/calendar/sync/disconnect", &[("id", id.as_str())])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(google.valid_refresh_tokens(), 0, "the grant was revoked");
    assert_eq!(app.count("calendar_connections").await, 0);
    assert_eq!(
        app.scalar("SELECT COUNT(*) AS n FROM secrets WHERE name LIKE 'calendar:%'")
            .await,
        0
    );
}

#[tokio::test]
async fn a_wrong_state_or_replayed_callback_connects_nothing() {
    let google = FakeGoogle::start().await;
    let Some(app) = spawn(&google).await else {
        return;
    };
    // No flow started in this session: whatever code comes, nothing is connected.
    let res = app
        .get("/integrations/google/callback?code=4/code1&state=forged")
        .await;
    assert!(res.url().as_str().contains("error=state"), "{}", res.url());
    // A started flow, answered with another state.
    let res = app
        .client
        .post(format!("{}/integrations/google/connect", app.base))
        .form(&[("resource_id", "")])
        .send()
        .await
        .expect("connect");
    assert!(res.url().as_str().contains("notice=calendar_connected"));
    let again = app
        .get("/integrations/google/callback?code=4/code1&state=anything")
        .await;
    assert!(
        again.url().as_str().contains("error=state"),
        "a state works once"
    );
    assert_eq!(app.count("calendar_connections").await, 1);
}

#[tokio::test]
async fn a_move_in_google_waits_for_staff_under_ask_and_accepting_moves_the_booking() {
    let google = FakeGoogle::start().await;
    let Some(app) = spawn(&google).await else {
        return;
    };
    let resource = app.resource("Roof terrace", 4).await;
    let id = connect(&app, "").await;
    synced(&app, &id).await;
    let day = future_date(6);
    let bid = book(&app, &resource, &day).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    let e = pushed(&app, &google, &bid).await;
    let before = booking_row(&app, &bid).await;
    let new_start = start_of(&e) + chrono::Duration::hours(1);
    let new_end = new_start + chrono::Duration::hours(2);
    assert!(
        google
            .user_move(
                ACCOUNT,
                &event_id(&bid),
                &new_start.to_rfc3339(),
                &new_end.to_rfc3339()
            )
            .await
    );
    app.eventually("the change proposed", WAIT, || async {
        app.scalar("SELECT COUNT(*) AS n FROM calendar_conflicts WHERE status = 'open'")
            .await
            == 1
    })
    .await;
    assert_eq!(
        booking_row(&app, &bid).await.starts_at,
        before.starts_at,
        "asked, not applied"
    );
    // The calendar view marks the booking with what happened in Google.
    let (_, terrace) = day_column(&app, &day, "Roof terrace").await;
    let marked = terrace["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["booking_id"] == bid.as_str()))
        .and_then(|i| i["conflict"].as_str())
        .unwrap_or_default()
        .to_string();
    assert!(marked.starts_with("Moved to "), "{terrace}");
    let (status, overview) = app.post("/rpc/calendar/sync", &[]).await;
    assert_eq!(status, StatusCode::OK, "{overview}");
    let conflict = &overview["open_conflicts"][0];
    assert_eq!(conflict["kind"], "moved");
    let cid = conflict["id"].as_str().expect("id").to_string();
    let (status, body) = app
        .post(
            "/rpc/calendar/sync/decide",
            &[("id", cid.as_str()), ("decision", "accept")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let after = booking_row(&app, &bid).await;
    assert_eq!(after.starts_at, new_start);
    assert_eq!(after.ends_at, new_end);
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'calendar.conflict.accepted'"
        )
        .await,
        1
    );
    assert_eq!(
        app.scalar(&format!("SELECT COUNT(*) AS n FROM events WHERE event_type = 'booking.rescheduled' AND entity_id = '{bid}'")).await,
        1,
        "the usual domain event"
    );
    // Deciding twice is refused with a clear problem.
    let (status, body) = app
        .post(
            "/rpc/calendar/sync/decide",
            &[("id", cid.as_str()), ("decision", "reject")],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}

#[tokio::test]
async fn hitch_wins_puts_the_event_back_and_calendar_wins_moves_the_booking() {
    let google = FakeGoogle::start().await;
    let Some(app) = spawn(&google).await else {
        return;
    };
    let resource = app.resource("Terrace", 4).await;
    let id = connect(&app, "").await;
    synced(&app, &id).await;

    set_strategy(&app, &id, "hitch").await;
    let a = book(&app, &resource, &future_date(7)).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    let e = pushed(&app, &google, &a).await;
    let original = start_of(&e);
    let later = original + chrono::Duration::hours(2);
    google
        .user_move(
            ACCOUNT,
            &event_id(&a),
            &later.to_rfc3339(),
            &(later + chrono::Duration::hours(2)).to_rfc3339(),
        )
        .await;
    app.eventually("the event put back", WAIT, || async {
        google
            .event(ACCOUNT, &event_id(&a))
            .is_some_and(|e| start_of(&e) == original)
    })
    .await;
    assert_eq!(booking_row(&app, &a).await.starts_at, original);

    set_strategy(&app, &id, "calendar").await;
    let b = book(&app, &resource, &future_date(8)).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    let e = pushed(&app, &google, &b).await;
    let later = start_of(&e) + chrono::Duration::hours(1);
    google
        .user_move(
            ACCOUNT,
            &event_id(&b),
            &later.to_rfc3339(),
            &(later + chrono::Duration::hours(2)).to_rfc3339(),
        )
        .await;
    app.eventually("the booking moved", WAIT, || async {
        booking_row(&app, &b).await.starts_at == later
    })
    .await;
    // Deleted in Google under "calendar wins": the booking is cancelled.
    google.user_delete(ACCOUNT, &event_id(&b)).await;
    app.eventually("the booking cancelled", WAIT, || async {
        booking_row(&app, &b).await.status == "cancelled"
    })
    .await;
    assert!(
        app.scalar("SELECT COUNT(*) AS n FROM audit_log WHERE actor_kind = 'system' AND action = 'booking.cancelled'").await >= 1,
        "the connection is named as the actor"
    );
}

#[tokio::test]
async fn busy_time_in_google_blocks_the_slot_for_every_capacity() {
    let google = FakeGoogle::start().await;
    let Some(app) = spawn(&google).await else {
        return;
    };
    // Capacity 10: a busy block still takes the whole resource.
    let resource = app.resource("The snug", 10).await;
    let id = connect(&app, &resource).await;
    synced(&app, &id).await;
    let day = future_date(9);
    // The org's zone: find the UTC instant of 19:00 local via a booking we then cancel.
    let probe = book(&app, &resource, &day).await;
    let pid = probe["id"].as_str().expect("id").to_string();
    let row = booking_row(&app, &pid).await;
    let (status, _) = app
        .post(
            "/rpc/bookings/cancel",
            &[("id", pid.as_str()), ("revision", "1")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (s, e) = (row.starts_at, row.ends_at);
    // A free ("transparent") event blocks nothing; a busy one does.
    google
        .user_create(ACCOUNT, &s.to_rfc3339(), &e.to_rfc3339(), true)
        .await;
    google
        .user_create(
            ACCOUNT,
            &(s + chrono::Duration::minutes(30)).to_rfc3339(),
            &(s + chrono::Duration::minutes(90)).to_rfc3339(),
            false,
        )
        .await;
    app.eventually("the busy block", WAIT, || async {
        app.count("calendar_busy_blocks").await == 1
    })
    .await;
    let client = app.a_client().await;
    let (status, body) = app
        .post(
            "/rpc/bookings/create",
            &booking_form(&resource, &client, &day, "19:00", "21:00", "1"),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "slot_taken");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("connected calendar"),
        "{body}"
    );
    // Another resource is not blocked by a connection made for this one.
    let other = app.resource("Wine bar", 10).await;
    let (status, body) = app
        .post(
            "/rpc/bookings/create",
            &booking_form(&other, &client, &day, "19:00", "21:00", "1"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The day view draws the block in its resource's column only, with its local times.
    let (_, room) = day_column(&app, &day, "The snug").await;
    let labels: Vec<&str> = room["busy"]
        .as_array()
        .expect("busy")
        .iter()
        .filter_map(|b| b["label"].as_str())
        .collect();
    assert_eq!(labels, ["Busy in your calendar 19:30–20:30"], "{room}");
    let (_, bar) = day_column(&app, &day, "Wine bar").await;
    assert_eq!(bar["busy"], serde_json::json!([]), "{bar}");
    // Outside the block it is fine.
    let (status, body) = app
        .post(
            "/rpc/bookings/create",
            &with(
                booking_form(&resource, &client, &day, "21:00", "22:00", "1"),
                "input[notes]",
                "late",
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_revoked_grant_asks_for_a_reconnect_and_an_expired_sync_token_resyncs() {
    let google = FakeGoogle::start().await;
    let Some(app) = spawn(&google).await else {
        return;
    };
    let id = connect(&app, "").await;
    synced(&app, &id).await;
    let start = chrono::Utc::now() + chrono::Duration::days(3);
    let kept = google
        .user_create(
            ACCOUNT,
            &start.to_rfc3339(),
            &(start + chrono::Duration::hours(1)).to_rfc3339(),
            false,
        )
        .await;
    app.eventually("one busy block", WAIT, || async {
        app.count("calendar_busy_blocks").await == 1
    })
    .await;

    // The sync token ages out while an event is deleted: a full resync drops its block.
    google.expire_sync_tokens();
    google.user_delete(ACCOUNT, &kept).await;
    app.eventually("the block gone after a full resync", WAIT, || async {
        app.count("calendar_busy_blocks").await == 0
    })
    .await;
    assert!(google.count("GET", "/events") >= 3);

    // Rate limited: the connection waits, then carries on.
    google.fail_next(403, "rateLimitExceeded");
    let (status, _) = app
        .post("/rpc/calendar/sync/now", &[("id", id.as_str())])
        .await;
    assert_eq!(status, StatusCode::OK);
    app.eventually("the back-off recorded", WAIT, || async {
        app.scalar("SELECT COUNT(*) AS n FROM job_attempts WHERE reason = 'throttled'")
            .await
            >= 1
    })
    .await;

    // The user removes Hitch's access in their Google account.
    google.revoke_all();
    let (status, _) = app
        .post("/rpc/calendar/sync/now", &[("id", id.as_str())])
        .await;
    assert!(status == StatusCode::OK || status == StatusCode::CONFLICT);
    app.eventually("reconnect needed", WAIT, || async {
        connection(&app, &id).await.state == "reconnect_needed"
    })
    .await;
    let (status, alerts) = app.post("/rpc/alerts", &[]).await;
    assert_eq!(status, StatusCode::OK, "{alerts}");
    assert!(alerts.to_string().contains("reconnect"), "{alerts}");
}

#[tokio::test]
async fn notices_need_the_channel_token() {
    let google = FakeGoogle::start().await;
    let Some(app) = spawn(&google).await else {
        return;
    };
    let id = connect(&app, "").await;
    synced(&app, &id).await;
    let channel: String = {
        use sea_orm::QuerySelect;
        server::db::entities::calendar_source::Entity::find()
            .select_only()
            .column(server::db::entities::calendar_source::Column::ChannelId)
            .filter(server::db::entities::calendar_source::Column::ChannelId.is_not_null())
            .into_tuple::<Option<String>>()
            .one(&app.db)
            .await
            .expect("query")
            .flatten()
            .expect("a channel")
    };
    let http = reqwest::Client::new();
    let post = |token: &'static str| {
        http.post(format!("{}/hooks/google-calendar", app.base))
            .header("X-Goog-Channel-ID", channel.clone())
            .header("X-Goog-Channel-Token", token)
            .header("X-Goog-Resource-State", "exists")
            .send()
    };
    assert_eq!(
        post("wrong").await.expect("post").status(),
        StatusCode::NOT_FOUND
    );
    let unknown = http
        .post(format!("{}/hooks/google-calendar", app.base))
        .header("X-Goog-Channel-ID", "gch_nope")
        .send()
        .await
        .expect("post");
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_thousand_remote_changes_arrive_over_pages_with_a_refreshed_token() {
    let google = FakeGoogle::start().await;
    let Some(app) = spawn(&google).await else {
        return;
    };
    let id = connect(&app, "").await;
    synced(&app, &id).await;
    app.eventually("the channel", WAIT, || async { google.channels() >= 1 })
        .await;
    // The access token expires early (Google may end it any time): 401, refresh, retry.
    google.expire_access_tokens();
    let refreshes_before = google.count("POST", "/token");
    google
        .user_create_many(
            ACCOUNT,
            1000,
            chrono::Utc::now() + chrono::Duration::days(2),
        )
        .await;
    app.eventually("1,000 busy blocks", Duration::from_secs(60), || async {
        app.count("calendar_busy_blocks").await == 1000
    })
    .await;
    assert!(
        google.count("POST", "/token") > refreshes_before,
        "the token was refreshed"
    );
    assert_eq!(connection(&app, &id).await.state, "connected");
}

/// The dashboard's day view of `day`, and the named resource's column in it.
async fn day_column(app: &TestApp, day: &str, resource: &str) -> (Value, Value) {
    let (status, agenda) = app
        .post(
            "/rpc/calendar/agenda",
            &[("query[date]", day), ("query[view]", "day")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{agenda}");
    let column = agenda["columns"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["label"] == resource))
        .cloned()
        .unwrap_or_else(|| panic!("no column {resource}: {agenda}"));
    (agenda, column)
}

/// Calendar jobs waiting or running, in every process.
async fn calendar_jobs_busy(app: &TestApp) -> i64 {
    let now = server::platform::now_ms();
    app.scalar(&format!(
        "SELECT COUNT(*) AS n FROM jobs WHERE kind LIKE 'calendar.%' \
         AND status IN ('queued', 'running') AND run_at <= {now}"
    ))
    .await
}

/// Writes of booking events Google received (inserts, and updates or deletes of one).
fn event_writes(google: &FakeGoogle) -> (usize, usize) {
    let inserts = google.count("POST", "/events") - google.count("POST", "/events/watch");
    let updates = google.count("PUT", "/events/hitch") + google.count("PATCH", "/events/hitch");
    (inserts, updates)
}

/// Two `hitch serve` on one PostgreSQL share the calendar work: each booking reaches
/// Google once and each move is written once, whichever server took the booking or ran
/// the job, and events made in Google become one busy block each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_database_sync_each_change_once() {
    let google = FakeGoogle::start().await;
    let Some(app) = spawn(&google).await else {
        return;
    };
    if !app.is_postgres() {
        eprintln!("several servers share one PostgreSQL only");
        return;
    }
    let c = &app.config;
    let env = [
        ("HITCH_PUBLIC_URL", c.public_url.as_str()),
        ("HITCH_GOOGLE_CLIENT_ID", crate::fake_google::CLIENT_ID),
        (
            "HITCH_GOOGLE_CLIENT_SECRET",
            crate::fake_google::CLIENT_SECRET,
        ),
        ("HITCH_GOOGLE_AUTH_URL", c.google_auth_url.as_str()),
        ("HITCH_GOOGLE_TOKEN_URL", c.google_token_url.as_str()),
        ("HITCH_GOOGLE_REVOKE_URL", c.google_revoke_url.as_str()),
        ("HITCH_GOOGLE_API_BASE", c.google_api_base.as_str()),
    ];
    let (_process, second) = app.second_server(&env).await;
    let resource = app.resource("Shared hall", 50).await;
    let guest = app.a_client().await;
    let id = connect(&app, "").await;
    synced(&app, &id).await;
    app.eventually("the backfill", WAIT, || async {
        calendar_jobs_busy(&app).await == 0
    })
    .await;
    let (inserts, updates) = event_writes(&google);

    let day = future_date(12);
    let mut made = Vec::new();
    for n in 0..20 {
        let base = if n % 2 == 0 { &app.base } else { &second };
        let start = format!("{:02}:00", 9 + n % 10);
        let end = format!("{:02}:45", 9 + n % 10);
        let res = app
            .client
            .post(format!("{base}/rpc/bookings/create"))
            .form(&booking_form(&resource, &guest, &day, &start, &end, "1"))
            .send()
            .await
            .expect("create");
        assert_eq!(res.status(), StatusCode::OK, "booking {n} at {base}");
        let body: Value = res.json().await.expect("json");
        made.push((body["id"].as_str().expect("id").to_string(), start, end));
    }
    for (bid, _, _) in &made {
        pushed(&app, &google, bid).await;
    }
    // Each moved an hour later, half through each server.
    for (n, (bid, start, end)) in made.iter().take(10).enumerate() {
        let base = if n % 2 == 0 { &second } else { &app.base };
        let later = |t: &str| format!("{:02}{}", t[..2].parse::<u32>().expect("hour") + 1, &t[2..]);
        let (start, end) = (later(start), later(end));
        let mut form = booking_form(&resource, &guest, &day, &start, &end, "1");
        form.push(("id", bid));
        form.push(("revision", "1"));
        let res = app
            .client
            .post(format!("{base}/rpc/bookings/update"))
            .form(&form)
            .send()
            .await
            .expect("update");
        assert_eq!(res.status(), StatusCode::OK, "move {n} at {base}");
    }
    app.eventually("the moves in Google", WAIT, || async {
        event_writes(&google).1 >= updates + 10 && calendar_jobs_busy(&app).await == 0
    })
    .await;
    assert_eq!(
        event_writes(&google),
        (inserts + 20, updates + 10),
        "one insert per booking, one update per move"
    );

    google
        .user_create_many(ACCOUNT, 50, chrono::Utc::now() + chrono::Duration::days(30))
        .await;
    app.eventually("50 busy blocks", WAIT, || async {
        app.count("calendar_busy_blocks").await >= 50 && calendar_jobs_busy(&app).await == 0
    })
    .await;
    assert_eq!(app.count("calendar_busy_blocks").await, 50);
    assert_eq!(
        app.scalar("SELECT COUNT(DISTINCT remote_event_id) AS n FROM calendar_busy_blocks")
            .await,
        50
    );
    assert_eq!(connection(&app, &id).await.state, "connected");
}
