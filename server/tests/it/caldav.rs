//! The CalDAV client against a real Radicale: discovery, an event pushed for a booking,
//! an edit and a deletion made by another calendar app picked up by sync-collection,
//! the etag conflict when both sides changed, busy time with recurrences expanded, an
//! expired sync token, and a wrong password.
use std::time::Duration;

use chrono::{DateTime, Duration as Days, TimeZone, Utc};
use chrono_tz::Tz;
use server::consumers::calendars::caldav::{CalDav, Outgoing, event_path};
use server::consumers::calendars::google::ApiError;
use server::platform::outbound::{OutboundPolicy, parse_networks};

use crate::radicale::{PASSWORD, Radicale, USER};

fn client(r: &Radicale, password: &str) -> CalDav {
    // Through the same outbound policy as production, with this machine allowed.
    let http = OutboundPolicy {
        allow: parse_networks("127.0.0.0/8").expect("nets"),
        https_only: false,
    }
    .client(Duration::from_secs(10));
    CalDav::new(http, r.base.parse().expect("url"), USER, password)
}

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, day, hour, 0, 0)
        .single()
        .expect("time")
}

fn booking(id: &str, start: DateTime<Utc>) -> Outgoing<'_> {
    Outgoing {
        booking_id: id,
        sequence: 1,
        summary: "Ada Lovelace (4) · Terrace",
        description: "Booked in Hitch",
        start,
        end: start + Days::hours(2),
        tentative: false,
    }
}

/// The event another app would write after moving ours: same UID, new times.
fn moved(uid: &str, start: DateTime<Utc>) -> String {
    let f = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Other app//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261201T000000Z\r\nDTSTART:{}\r\nDTEND:{}\r\nSUMMARY:Moved by hand\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        f(start),
        f(start + Days::hours(2))
    )
}

#[tokio::test]
async fn discovery_finds_the_accounts_event_calendars() {
    let Some(r) = Radicale::start().await else {
        return;
    };
    r.make_calendar("bookings", "Bookings").await;
    r.make_calendar("personal", "Personal").await;
    let mut found = client(&r, PASSWORD).calendars().await.expect("discovery");
    found.sort_by(|a, b| a.name.cmp(&b.name));
    let names: Vec<(&str, &str)> = found
        .iter()
        .map(|c| (c.name.as_str(), c.href.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("Bookings", "/staff/bookings/"),
            ("Personal", "/staff/personal/")
        ]
    );
}

#[tokio::test]
async fn a_pushed_booking_is_edited_and_deleted_elsewhere_and_hitch_hears_of_both() {
    let Some(r) = Radicale::start().await else {
        return;
    };
    let cal = r.make_calendar("bookings", "Bookings").await;
    let dav = client(&r, PASSWORD);
    let tz = Tz::UTC;

    // Push: created once; creating again is refused as a duplicate.
    let path = event_path(&cal, "bk_1");
    let ics = booking("bk_1", at(24, 19)).to_ics();
    let etag = dav.put(&path, &ics, None).await.expect("created");
    assert!(etag.is_some(), "Radicale names the new version");
    assert_eq!(dav.put(&path, &ics, None).await, Err(ApiError::Duplicate));
    let stored = dav.get(&path, tz).await.expect("read back");
    assert_eq!(stored.booking_id.as_deref(), Some("bk_1"));
    assert_eq!(stored.start, Some(at(24, 19)));

    // Everything so far, and the token to start from.
    let first = dav.changes(&cal, None, tz).await.expect("first sync");
    assert_eq!(first.changed.len(), 1);
    assert!(!first.sync_token.is_empty());

    // Another app moves the event to 21:00.
    r.put_as_another_app(&path, &moved("bk_1@hitch", at(24, 21)))
        .await;
    let after_edit = dav
        .changes(&cal, Some(&first.sync_token), tz)
        .await
        .expect("incremental sync");
    assert_eq!(after_edit.changed.len(), 1, "only the edited event");
    let edited = &after_edit.changed[0];
    assert_eq!(edited.id, path);
    assert_eq!(edited.booking_id.as_deref(), Some("bk_1"));
    assert_eq!(edited.start, Some(at(24, 21)));
    assert_ne!(edited.etag, etag);

    // Hitch's write with the old etag is refused: both sides changed.
    let ours = booking("bk_1", at(24, 18)).to_ics();
    assert_eq!(
        dav.put(&path, &ours, etag.as_deref()).await,
        Err(ApiError::Changed)
    );
    assert_eq!(
        dav.delete(&path, etag.as_deref()).await,
        Err(ApiError::Changed)
    );
    // With the current etag it goes through.
    let newer = dav
        .put(&path, &ours, edited.etag.as_deref())
        .await
        .expect("updated");

    // Another app deletes it.
    let before_delete = dav
        .changes(&cal, Some(&after_edit.sync_token), tz)
        .await
        .expect("sync");
    assert_eq!(
        before_delete.changed.len(),
        1,
        "Hitch's own update shows as a change"
    );
    assert_eq!(before_delete.changed[0].etag, newer);
    r.delete_as_another_app(&path).await;
    let after_delete = dav
        .changes(&cal, Some(&before_delete.sync_token), tz)
        .await
        .expect("sync");
    assert!(after_delete.changed.is_empty());
    assert_eq!(after_delete.removed, std::slice::from_ref(&path));
    assert_eq!(dav.get(&path, tz).await, Err(ApiError::NotFound));
}

#[tokio::test]
async fn busy_time_expands_recurrences_and_skips_free_events() {
    let Some(r) = Radicale::start().await else {
        return;
    };
    let cal = r.make_calendar("personal", "Personal").await;
    let weekly = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Other app//EN\r\nBEGIN:VEVENT\r\nUID:standup\r\nDTSTAMP:20261201T000000Z\r\nDTSTART;TZID=Europe/London:20261201T090000\r\nDTEND;TZID=Europe/London:20261201T093000\r\nRRULE:FREQ=WEEKLY;COUNT=10\r\nSUMMARY:Team meeting\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    r.put_as_another_app(&format!("{cal}standup.ics"), weekly)
        .await;
    let free = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Other app//EN\r\nBEGIN:VEVENT\r\nUID:lunch\r\nDTSTAMP:20261201T000000Z\r\nDTSTART:20261208T120000Z\r\nDTEND:20261208T130000Z\r\nTRANSP:TRANSPARENT\r\nSUMMARY:Maybe lunch\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    r.put_as_another_app(&format!("{cal}lunch.ics"), free).await;

    let events = client(&r, PASSWORD)
        .between(&cal, at(1, 0), at(22, 0), Tz::UTC)
        .await
        .expect("query");
    let mut busy: Vec<DateTime<Utc>> = events
        .iter()
        .filter(|e| !e.transparent && !e.cancelled())
        .filter_map(|e| e.start)
        .collect();
    busy.sort();
    // Tuesdays 1, 8 and 15 December at 09:00 London time (UTC in winter).
    assert_eq!(busy, [at(1, 9), at(8, 9), at(15, 9)]);
    assert!(
        events.iter().any(|e| e.transparent),
        "the free event is read, marked free"
    );
}

#[tokio::test]
async fn an_expired_token_asks_for_a_full_sync_and_a_wrong_password_for_a_reconnect() {
    let Some(r) = Radicale::start().await else {
        return;
    };
    let cal = r.make_calendar("bookings", "Bookings").await;
    let dav = client(&r, PASSWORD);
    assert_eq!(
        dav.changes(&cal, Some("http://radicale.org/ns/sync/0000"), Tz::UTC)
            .await
            .err(),
        Some(ApiError::Gone)
    );
    let wrong = client(&r, "not-the-password");
    assert_eq!(wrong.calendars().await, Err(ApiError::Unauthorized));
    assert_eq!(
        wrong
            .put(
                &event_path(&cal, "bk_2"),
                &booking("bk_2", at(24, 19)).to_ics(),
                None
            )
            .await,
        Err(ApiError::Unauthorized)
    );
}
