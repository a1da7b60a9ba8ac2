//! Domain events: written with the change, in the same transaction, or not at all.
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::Value;
use server::db::entities::event;

use crate::support::{TestApp, booking_form, future_date};

async fn events_for(app: &TestApp, entity_id: &str) -> Vec<(String, Value)> {
    event::Entity::find()
        .filter(event::Column::EntityId.eq(entity_id))
        .order_by_asc(event::Column::Id)
        .all(&app.db)
        .await
        .expect("events")
        .into_iter()
        .map(|e| {
            assert_eq!(e.organization_id, app.org_id);
            assert_eq!(e.schema_version, 1);
            assert!(e.id.starts_with("evt_"));
            (
                e.event_type,
                serde_json::from_str(&e.payload).expect("json"),
            )
        })
        .collect()
}

#[tokio::test]
async fn booking_changes_emit_their_events_with_payloads() {
    let Some(app) = TestApp::spawn_signed_in().await else {
        return;
    };
    let resource = app.resource("Terrace", 6).await;
    let client = app.a_client().await;
    let day = future_date(3);
    let mut form = booking_form(&resource, &client, &day, "19:00", "21:00", "4");
    form.retain(|(k, _)| *k != "input[status]");
    form.push(("input[status]", "pending"));
    let (status, created) = app.post("/rpc/bookings/create", &form).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let id = created["id"].as_str().expect("id").to_string();

    // Moved and confirmed in one edit: both facts are announced.
    let mut form = booking_form(&resource, &client, &day, "20:00", "22:00", "4");
    form.push(("id", &id));
    form.push(("revision", "1"));
    let (status, body) = app.post("/rpc/bookings/update", &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .post(
            "/rpc/bookings/cancel",
            &[("id", &id), ("revision", "2"), ("reason", "Storm")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let events = events_for(&app, &id).await;
    let types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        types,
        [
            "booking.created",
            "booking.rescheduled",
            "booking.confirmed",
            "booking.cancelled"
        ]
    );
    let (_, created) = &events[0];
    assert_eq!(created["id"], id.as_str());
    assert_eq!(created["party_size"], 4);
    assert_eq!(created["status"], "pending");
    assert_eq!(created["currency"], "EUR");
    let (_, moved) = &events[1];
    assert_eq!(moved["revision"], 2);
    assert_eq!(moved["previous"]["resource_id"], resource.as_str());
    assert_ne!(moved["previous"]["starts_at"], moved["starts_at"]);
    let (_, cancelled) = &events[3];
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["reason"], "Storm");

    // A refused change emits nothing.
    let before = app.count("events").await;
    let (status, _) = app
        .post("/rpc/bookings/cancel", &[("id", &id), ("revision", "3")])
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(app.count("events").await, before);
}

#[tokio::test]
async fn client_and_invoice_changes_emit_events() {
    let Some(app) = TestApp::spawn_signed_in().await else {
        return;
    };
    let (status, client) = app
        .post(
            "/rpc/clients/save",
            &[
                ("id", ""),
                ("input[name]", "Grace Hopper"),
                ("input[email]", "grace@example.com"),
                ("input[phone]", ""),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{client}");
    let client_id = client["id"].as_str().expect("id").to_string();
    let events = events_for(&app, &client_id).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, "client.created");
    assert_eq!(events[0].1["email"], "grace@example.com");

    let due = future_date(10);
    let (status, inv) = app
        .post(
            "/rpc/invoices/create",
            &[
                ("input[client_id]", client_id.as_str()),
                ("input[due_on]", due.as_str()),
                ("input[notes]", ""),
                ("input[lines][0][description]", "Tasting menu"),
                ("input[lines][0][quantity]", "2"),
                ("input[lines][0][unit_amount]", "80"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{inv}");
    let inv_id = inv["id"].as_str().expect("id").to_string();
    for next in ["sent", "paid"] {
        let (status, body) = app
            .post(
                "/rpc/invoices/set-status",
                &[("id", &inv_id), ("status", next)],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let events = events_for(&app, &inv_id).await;
    let types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(types, ["invoice.created", "invoice.sent", "invoice.paid"]);
    assert_eq!(events[2].1["status"], "paid");
    assert_eq!(events[2].1["total_minor"], 16000);
}

/// A trigger makes the audit insert (the last write, after the event) fail: the
/// booking and its event must both be rolled back.
#[tokio::test]
async fn a_change_and_its_event_commit_or_roll_back_together() {
    let Some(app) = TestApp::spawn_signed_in().await else {
        return;
    };
    let resource = app.resource("Cellar", 8).await;
    let client = app.a_client().await;
    let day = future_date(2);
    let form = booking_form(&resource, &client, &day, "18:00", "19:00", "2");

    let inject = if app.is_postgres() {
        vec![
            "CREATE FUNCTION fail_audit() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER fail_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION fail_audit()",
        ]
    } else {
        vec![
            "CREATE TRIGGER fail_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
        ]
    };
    for sql in inject {
        app.db.execute_unprepared(sql).await.expect("inject");
    }
    let (bookings, events) = (app.count("bookings").await, app.count("events").await);
    let (status, body) = app.post("/rpc/bookings/create", &form).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert_eq!(body["code"], "internal");
    assert!(
        !body.to_string().contains("injected"),
        "leaked the cause: {body}"
    );
    assert_eq!(app.count("bookings").await, bookings, "booking was kept");
    assert_eq!(app.count("events").await, events, "event was kept");

    let drop = if app.is_postgres() {
        "DROP TRIGGER fail_audit ON audit_log"
    } else {
        "DROP TRIGGER fail_audit"
    };
    app.db.execute_unprepared(drop).await.expect("drop trigger");
    let (status, body) = app.post("/rpc/bookings/create", &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(app.count("bookings").await, bookings + 1);
    assert_eq!(app.count("events").await, events + 1);
}

/// The dashboard's live stream carries a committed change to a signed-in user of the
/// same organization, and refuses anyone signed out or a malformed `since` with a
/// problem that says why.
#[tokio::test]
async fn the_live_stream_announces_committed_changes() {
    let Some(app) = TestApp::spawn_signed_in().await else {
        return;
    };
    let anonymous = reqwest::Client::new()
        .get(format!("{}/live", app.base))
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let problem: serde_json::Value = anonymous.json().await.expect("problem json");
    assert_eq!(problem["code"], "unauthenticated", "{problem}");
    let bad = app.get("/live?since=yesterday").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let problem: serde_json::Value = bad.json().await.expect("problem json");
    assert_eq!(problem["code"], "invalid_query", "{problem}");
    assert_eq!(problem["field"], "since", "{problem}");

    let mut stream = app.get("/live").await;
    assert_eq!(stream.status(), StatusCode::OK);
    assert!(
        stream.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/event-stream")
    );
    let resource = app.resource("Garden", 10).await;
    let client = app.a_client().await;
    let day = future_date(8);
    let (status, created) = app
        .post(
            "/rpc/bookings/create",
            &booking_form(&resource, &client, &day, "12:00", "13:00", "2"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let id = created["id"].as_str().expect("id");
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !seen.contains(id) {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .expect("a live message within 10 s")
            .expect("stream")
            .expect("open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(
        seen.contains("\"event_type\":\"booking.created\""),
        "{seen}"
    );
    assert!(seen.contains("\"entity_kind\":\"booking\""), "{seen}");
}

/// Reads the live stream until `needle` shows up; returns everything read.
async fn read_until(stream: &mut reqwest::Response, needle: &str) -> String {
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !seen.contains(needle) {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .unwrap_or_else(|_| panic!("{needle} within 10 s; read: {seen}"))
            .expect("stream")
            .expect("open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    seen
}

/// A page is rendered, something changes, and only then does its live refresh connect
/// (the WASM loads in between): the stream replays that change, so the page still
/// reloads. A connection made after a change does not hear of it again.
#[tokio::test]
async fn the_live_stream_replays_what_changed_since_the_page_was_rendered() {
    let Some(app) = TestApp::spawn_signed_in().await else {
        return;
    };
    // The page carries its render time to its live-refresh island.
    let before = chrono::Utc::now().timestamp_millis();
    let html = app.page("/bookings").await.replace("&quot;", "\"");
    let after = chrono::Utc::now().timestamp_millis();
    let since: i64 = html
        .split("\"since\":")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no render time on the bookings page"));
    assert!(
        (before..=after).contains(&since),
        "{before} <= {since} <= {after}"
    );

    let resource = app.resource("Garden", 10).await;
    let client = app.a_client().await;
    let day = future_date(8);
    // Two guests at a time in a garden for ten: every booking fits.
    let book = async || {
        let form = booking_form(&resource, &client, &day, "12:00", "13:00", "2");
        let (status, created) = app.post("/rpc/bookings/create", &form).await;
        assert_eq!(status, StatusCode::OK, "{created}");
        created["id"].as_str().expect("id").to_string()
    };
    let missed = book().await;
    let mut late = app.get(&format!("/live?since={since}")).await;
    assert_eq!(late.status(), StatusCode::OK);
    let seen = read_until(&mut late, &missed).await;
    assert!(seen.contains("\"entity_kind\":\"booking\""), "{seen}");

    // Connected after that change: the first booking it hears of is the next one.
    let now = chrono::Utc::now().timestamp_millis();
    let mut fresh = app.get(&format!("/live?since={now}")).await;
    let next = book().await;
    let seen = read_until(&mut fresh, &next).await;
    assert!(!seen.contains(&missed), "replayed an older change: {seen}");
}
