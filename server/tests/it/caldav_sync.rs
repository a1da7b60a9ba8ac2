//! Two-way sync with a CalDAV account, end to end against a real Radicale: connecting
//! from the dashboard's form (a wrong password said at once), bookings pushed as
//! events, an edit and a deletion made in another calendar app applied under "the
//! calendar wins", an edit on both sides waiting for staff under "ask", and busy time
//! (a weekly meeting) refusing the slot.
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use server::consumers::calendars::caldav::{CalDav, event_path};
use server::db::entities::{booking, calendar_connection};

use crate::radicale::{PASSWORD, Radicale, USER};
use crate::support::{TestApp, booking_form, future_date};

const WAIT: Duration = Duration::from_secs(20);

async fn spawn() -> Option<TestApp> {
    let app = TestApp::spawn_with(|c| c.outbound_allow = "127.0.0.0/8".into()).await?;
    app.sign_in().await;
    Some(app)
}

async fn connect(app: &TestApp, r: &Radicale, password: &str) -> (StatusCode, serde_json::Value) {
    let url = format!("{}/", r.base);
    app.post(
        "/rpc/calendar/sync/caldav",
        &[
            ("input[url]", url.as_str()),
            ("input[username]", USER),
            ("input[password]", password),
            ("input[resource_id]", ""),
        ],
    )
    .await
}

async fn booking_row(app: &TestApp, id: &str) -> booking::Model {
    booking::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .expect("query")
        .expect("booking")
}

fn dav(r: &Radicale) -> CalDav {
    CalDav::new(
        reqwest::Client::new(),
        r.base.parse().expect("url"),
        USER,
        PASSWORD,
    )
}

fn ics(uid: &str, start: DateTime<Utc>, end: DateTime<Utc>, summary: &str) -> String {
    let f = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Other app//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261201T000000Z\r\nDTSTART:{}\r\nDTEND:{}\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        f(start),
        f(end)
    )
}

async fn sync_now(app: &TestApp, id: &str) {
    let (status, body) = app.post("/rpc/calendar/sync/now", &[("id", id)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn book(app: &TestApp, resource: &str, day: &str, from: &str, to: &str) -> String {
    let client = app.a_client().await;
    let (status, b) = app
        .post(
            "/rpc/bookings/create",
            &booking_form(resource, &client, day, from, to, "2"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{b}");
    b["id"].as_str().expect("id").to_string()
}

#[tokio::test]
async fn a_caldav_calendar_gets_bookings_and_its_edits_come_back() {
    let Some(r) = Radicale::start().await else {
        return;
    };
    let Some(app) = spawn().await else {
        return;
    };
    let bookings_cal = r.make_calendar("bookings", "Bookings").await;
    let personal = r.make_calendar("personal", "Personal").await;
    let resource = app.resource("The loft", 2).await;

    // A wrong password is the password field's error, and nothing is saved.
    let (status, body) = connect(&app, &r, "wrong").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["fields"][0]["field"], "password", "{body}");
    assert_eq!(app.count("calendar_connections").await, 0);

    let (status, body) = connect(&app, &r, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let c = calendar_connection::Entity::find()
        .filter(calendar_connection::Column::OrganizationId.eq(&app.org_id))
        .one(&app.db)
        .await
        .expect("query")
        .expect("a connection");
    assert_eq!(c.provider, "caldav");
    assert!(c.account.starts_with("staff on 127.0.0.1"), "{}", c.account);
    // The password is in the vault, not in the connection's row.
    assert!(!format!("{c:?}").contains(PASSWORD));
    let (status, body) = app
        .post(
            "/rpc/calendar/sync/update",
            &[
                ("id", c.id.as_str()),
                ("target_calendar_id", bookings_cal.as_str()),
                ("strategy", "calendar"),
                ("busy_calendar", personal.as_str()),
                ("busy", "true"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Booked in Hitch: the event appears in the calendar, at the booking's time.
    let day = future_date(6);
    let a = book(&app, &resource, &day, "12:00", "13:00").await;
    let path = event_path(&bookings_cal, &a);
    let row = booking_row(&app, &a).await;
    app.eventually("the booking's event in the calendar", WAIT, || async {
        dav(&r)
            .get(&path, Tz::UTC)
            .await
            .is_ok_and(|e| e.start == Some(row.starts_at))
    })
    .await;

    // Moved an hour later in another app: the calendar wins, the booking follows.
    let later = row.starts_at + chrono::Duration::hours(1);
    r.put_as_another_app(
        &path,
        &ics(
            &format!("{a}@hitch"),
            later,
            later + chrono::Duration::hours(1),
            "moved",
        ),
    )
    .await;
    sync_now(&app, &c.id).await;
    app.eventually("the booking moved", WAIT, || async {
        booking_row(&app, &a).await.starts_at == later
    })
    .await;

    // Deleted in the other app: the booking is cancelled.
    r.delete_as_another_app(&path).await;
    sync_now(&app, &c.id).await;
    app.eventually("the booking cancelled", WAIT, || async {
        booking_row(&app, &a).await.status == "cancelled"
    })
    .await;

    // A weekly meeting in the personal calendar takes 15:00–16:00 that day: the slot
    // is refused, the hour after it is free.
    let meeting = booking_row(&app, &book(&app, &resource, &day, "15:00", "16:00").await).await;
    let (status, _) = app
        .post(
            "/rpc/bookings/cancel",
            &[("id", meeting.id.as_str()), ("revision", "1")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let weekly = ics(
        "standup",
        meeting.starts_at,
        meeting.ends_at,
        "Team meeting",
    )
    .replace("SUMMARY:", "RRULE:FREQ=WEEKLY;COUNT=4\r\nSUMMARY:");
    r.put_as_another_app(&format!("{personal}standup.ics"), &weekly)
        .await;
    sync_now(&app, &c.id).await;
    app.eventually("the meeting's busy blocks", WAIT, || async {
        let n = app.count("calendar_busy_blocks").await;
        n == 4
    })
    .await;
    let client = app.a_client().await;
    let (status, body) = app
        .post(
            "/rpc/bookings/create",
            &booking_form(&resource, &client, &day, "15:00", "16:00", "1"),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "slot_taken");
    book(&app, &resource, &day, "16:00", "17:00").await;
}

#[tokio::test]
async fn an_edit_on_both_sides_waits_for_staff_under_ask() {
    let Some(r) = Radicale::start().await else {
        return;
    };
    let Some(app) = spawn().await else {
        return;
    };
    let cal = r.make_calendar("bookings", "Bookings").await;
    let resource = app.resource("The cellar", 2).await;
    let (status, body) = connect(&app, &r, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let c = calendar_connection::Entity::find()
        .one(&app.db)
        .await
        .expect("query")
        .expect("connection");
    assert_eq!(c.target_calendar_id.as_deref(), Some(cal.as_str()));
    assert_eq!(c.strategy, "ask");

    let day = future_date(5);
    let b = book(&app, &resource, &day, "12:00", "13:00").await;
    let path = event_path(&cal, &b);
    app.eventually("the event in the calendar", WAIT, || async {
        dav(&r).get(&path, Tz::UTC).await.is_ok()
    })
    .await;
    let links = format!("SELECT COUNT(*) AS n FROM calendar_event_links WHERE booking_id = '{b}'");
    app.eventually("the push recorded", WAIT, || async {
        app.scalar(&links).await == 1
    })
    .await;
    // Someone moves the event there, and before Hitch reads it, staff move the booking.
    let row = booking_row(&app, &b).await;
    let there = row.starts_at + chrono::Duration::hours(3);
    r.put_as_another_app(
        &path,
        &ics(
            &format!("{b}@hitch"),
            there,
            there + chrono::Duration::hours(1),
            "moved",
        ),
    )
    .await;
    let client = app.a_client().await;
    let mut form = booking_form(&resource, &client, &day, "13:00", "14:00", "2");
    form.push(("id", &b));
    form.push(("revision", "1"));
    let (status, body) = app.post("/rpc/bookings/update", &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Hitch's write meets the other edit (412): the change waits for a decision, and
    // neither side is overwritten.
    app.eventually("the conflict waiting", WAIT, || async {
        app.scalar("SELECT COUNT(*) AS n FROM calendar_conflicts WHERE status = 'open'")
            .await
            == 1
    })
    .await;
    assert_eq!(
        dav(&r).get(&path, Tz::UTC).await.expect("event").start,
        Some(there)
    );
    assert_eq!(
        booking_row(&app, &b).await.starts_at,
        row.starts_at + chrono::Duration::hours(1)
    );
}
