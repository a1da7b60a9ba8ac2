//! Calendar feeds: links made, rotated and revoked from the dashboard and the API, and
//! the `.ics` they serve read by two parsers outside Rust (npm `ical.js`, PyPI
//! `icalendar`), with conditional GETs, privacy and the per-feed limit.
use std::io::Write;
use std::process::{Command, Stdio};

use reqwest::{Client, StatusCode, header};
use serde_json::{Value, json};

use crate::api::api;
use crate::support::{TestApp, future_date};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// A client with no session and no cookies: a calendar app.
fn calendar_app() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Runs one of the outside parsers on `ics` and returns what it read.
fn parse_with(program: &str, script: &str, ics: &str) -> Value {
    let mut child = Command::new(program)
        .arg(script)
        .current_dir(ROOT)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} {script}: {e} (run .ci/install-tools)"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(ics.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("parser");
    assert!(
        out.status.success(),
        "{script} refused the feed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("parser json")
}

fn both_parsers(ics: &str) -> [Value; 2] {
    [
        parse_with("node", "end2end/tools/ical-parse.mjs", ics),
        parse_with(
            &format!("{ROOT}/.venv/bin/python"),
            "end2end/tools/ical_parse.py",
            ics,
        ),
    ]
}

fn event<'a>(parsed: &'a Value, booking_id: &str) -> &'a Value {
    parsed["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["uid"] == format!("{booking_id}@hitch"))
        .unwrap_or_else(|| panic!("{booking_id} not in the feed"))
}

/// The feed link as served by this test's server (links name the public URL).
fn served(app: &TestApp, url: &str) -> String {
    let path = url
        .strip_prefix(app.config.public_url.trim_end_matches('/'))
        .unwrap_or_else(|| panic!("{url} is not on the public URL"));
    format!("{}{path}", app.base)
}

async fn fetch(url: &str, etag: Option<&str>) -> reqwest::Response {
    let mut req = calendar_app().get(url);
    if let Some(t) = etag {
        req = req.header(header::IF_NONE_MATCH, t);
    }
    req.send().await.expect("feed")
}

async fn new_booking(
    app: &TestApp,
    key: &crate::api::Api<'_>,
    resource: &str,
    notes: &str,
) -> Value {
    let client = app.a_client().await;
    let day = future_date(6);
    let (status, b) = key
        .post(
            "/api/v1/bookings",
            json!({
                "resource_id": resource, "client_id": client,
                "starts_at": format!("{day}T18:00:00Z"), "ends_at": format!("{day}T20:00:00Z"),
                "party_size": 2, "notes": notes,
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
    b
}

#[tokio::test]
async fn a_feed_is_exact_icalendar_that_two_parsers_read_the_same_way() {
    let Some(app) = TestApp::spawn_signed_in().await else {
        return;
    };
    let key = api(&app).await;
    let resource = app.resource("Terrace", 6).await;
    let hostile = format!(
        "Allergy; nuts, shellfish \\ back\r\nEND:VEVENT\r\nBEGIN:VEVENT\nUID:evil\rDTSTART:19700101T000000Z\t{}",
        "é€🎉日本".repeat(12)
    );
    let b = new_booking(&app, &key, &resource, &hostile).await;
    let id = b["id"].as_str().expect("id");

    let (status, feed) = key
        .post(
            "/api/v1/calendar-feeds",
            json!({ "label": "Kitchen", "privacy": "full" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{feed}");
    let url = served(&app, feed["url"].as_str().expect("url"));
    assert!(url.ends_with(".ics"), "{url}");

    let res = fetch(&url, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()[header::CONTENT_TYPE],
        "text/calendar; charset=utf-8"
    );
    let etag = res.headers()[header::ETAG]
        .to_str()
        .expect("etag")
        .to_string();
    let ics = res.text().await.expect("body");

    // The wire format itself: CRLF only, no physical line over 75 octets, one
    // VEVENT per booking whatever its notes hold.
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\n") && ics.ends_with("END:VCALENDAR\r\n"));
    assert!(
        !ics.replace("\r\n", "").contains(['\r', '\n']),
        "bare CR or LF"
    );
    for line in ics.split("\r\n") {
        assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
    }
    assert!(ics.contains("REFRESH-INTERVAL;VALUE=DURATION:PT15M\r\n"));
    assert!(ics.contains("X-PUBLISHED-TTL:PT15M\r\n"));
    for line in ics.split("\r\n") {
        assert!(
            !line.starts_with("UID:evil") && !line.starts_with("DTSTART:1970"),
            "notes became a property: {line:?}"
        );
    }
    let vevents = ics.matches("BEGIN:VEVENT\r\n").count();

    let stored_notes = b["notes"].as_str().expect("notes");
    let expected_notes = stored_notes.replace("\r\n", "\n").replace('\r', "\n");
    for parsed in both_parsers(&ics) {
        assert_eq!(parsed["events"].as_array().expect("events").len(), vevents);
        assert_eq!(parsed["method"], "PUBLISH");
        assert_eq!(parsed["name"], "Demo Bistro — Kitchen");
        let e = event(&parsed, id);
        assert_eq!(e["status"], "CONFIRMED");
        assert_eq!(e["sequence"], b["revision"]);
        assert_eq!(e["location"], "Terrace");
        assert_eq!(e["start"], format!("{}T18:00:00.000Z", future_date(6)));
        assert_eq!(e["end"], format!("{}T20:00:00.000Z", future_date(6)));
        let description = e["description"].as_str().expect("description");
        assert!(
            description.ends_with(&format!("Notes: {expected_notes}")),
            "{description:?}"
        );
        assert!(
            e["summary"]
                .as_str()
                .expect("summary")
                .ends_with("· 2 guests")
        );
    }

    // Unchanged: 304 with no body. Changed: the new revision, a new tag.
    let again = fetch(&url, Some(&etag)).await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(again.headers()[header::ETAG].to_str().expect("etag"), etag);
    assert!(again.text().await.expect("body").is_empty());

    let (status, moved) = key
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/bookings/{id}"),
            Some(json!({ "revision": b["revision"], "party_size": 5 })),
            &[],
        )
        .await
        .into_parts();
    assert_eq!(status, StatusCode::OK, "{moved}");
    let mut fresh = fetch(&url, Some(&etag)).await;
    // The change reaches the feed through the hub; allow it a moment.
    for _ in 0..40 {
        if fresh.status() == StatusCode::OK {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        fresh = fetch(&url, Some(&etag)).await;
    }
    assert_eq!(fresh.status(), StatusCode::OK);
    assert_ne!(fresh.headers()[header::ETAG].to_str().expect("etag"), etag);
    let parsed = both_parsers(&fresh.text().await.expect("body"));
    for p in &parsed {
        let e = event(p, id);
        assert_eq!(e["sequence"], moved["revision"]);
        assert!(
            e["summary"]
                .as_str()
                .expect("summary")
                .ends_with("· 5 guests")
        );
    }

    // Cancelled: still in the feed, as cancelled, so calendars drop it.
    let (status, c) = key
        .post(
            &format!("/api/v1/bookings/{id}/cancel"),
            json!({ "revision": moved["revision"] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{c}");
    app.eventually(
        "the cancellation in the feed",
        std::time::Duration::from_secs(5),
        || async {
            let ics = fetch(&url, None).await.text().await.expect("body");
            event(&both_parsers(&ics)[0], id)["status"] == "CANCELLED"
        },
    )
    .await;
}

/// `(status, headers, body)` without the headers.
trait IntoParts {
    fn into_parts(self) -> (StatusCode, Value);
}

impl IntoParts for (StatusCode, reqwest::header::HeaderMap, Value) {
    fn into_parts(self) -> (StatusCode, Value) {
        (self.0, self.2)
    }
}

#[tokio::test]
async fn a_busy_only_feed_of_one_resource_shows_nothing_but_busy_times() {
    let Some(app) = TestApp::spawn_signed_in().await else {
        return;
    };
    let key = api(&app).await;
    let terrace = app.resource("Terrace", 6).await;
    let garden = app.resource("Garden", 6).await;
    let here = new_booking(&app, &key, &terrace, "Secret birthday surprise").await;
    let elsewhere = new_booking(&app, &key, &garden, "Other").await;
    let (status, feed) = key
        .post(
            "/api/v1/calendar-feeds",
            json!({ "label": "Terrace public", "privacy": "busy", "resource_id": terrace }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{feed}");
    let ics = fetch(&served(&app, feed["url"].as_str().expect("url")), None)
        .await
        .text()
        .await
        .expect("body");
    let guest = here["client_id"].as_str().expect("client");
    let (_, client) = key.get(&format!("/api/v1/clients/{guest}")).await;
    for secret in [
        "Secret birthday",
        client["name"].as_str().expect("name"),
        client["email"].as_str().expect("email"),
    ] {
        assert!(!ics.contains(secret), "{secret:?} leaked into a busy feed");
    }
    for parsed in both_parsers(&ics) {
        let events = parsed["events"].as_array().expect("events");
        assert_eq!(events.len(), 1, "only the Terrace booking: {parsed}");
        assert_eq!(events[0]["summary"], "Busy");
        assert_eq!(events[0]["description"], Value::Null);
        assert_eq!(
            events[0]["uid"],
            format!("{}@hitch", here["id"].as_str().expect("id"))
        );
    }
    assert!(!ics.contains(elsewhere["id"].as_str().expect("id")));
}

#[tokio::test]
async fn wrong_revoked_rotated_and_expired_links_answer_a_bare_404() {
    let Some(app) = TestApp::spawn_signed_in().await else {
        return;
    };
    let (status, made) = app
        .post(
            "/rpc/calendar/feeds/create",
            &[
                ("input[label]", "Owner's phone"),
                ("input[privacy]", "full"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{made}");
    let url = served(&app, made["url"].as_str().expect("url"));
    assert_eq!(fetch(&url, None).await.status(), StatusCode::OK);

    let base = &app.base;
    for wrong in [
        format!("{base}/feeds/{}.ics", "A".repeat(43)),
        format!("{base}/feeds/short.ics"),
        format!(
            "{base}/feeds/{}",
            url.rsplit('/')
                .next()
                .expect("file")
                .trim_end_matches(".ics")
        ),
        format!("{base}/feeds/{}.ics", "%00".repeat(20)),
    ] {
        let res = fetch(&wrong, None).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{wrong}");
        assert_eq!(res.text().await.expect("body"), "Not found.\n");
    }

    // A new link: the old one stops at once, the new one works.
    let (status, rotated) = app
        .post(
            "/rpc/calendar/feeds/rotate",
            &[("id", made["id"].as_str().expect("id"))],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new_url = served(&app, rotated["url"].as_str().expect("url"));
    assert_ne!(new_url, url);
    assert_eq!(fetch(&url, None).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(fetch(&new_url, None).await.status(), StatusCode::OK);

    let (status, _) = app
        .post(
            "/rpc/calendar/feeds/revoke",
            &[("id", made["id"].as_str().expect("id"))],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetch(&new_url, None).await.status(), StatusCode::NOT_FOUND);
    let (_, list) = app.post("/rpc/calendar/feeds", &[]).await;
    assert_eq!(list[0].as_array().expect("feeds").len(), 0, "{list}");

    // Expired: made with an expiry, then aged past it.
    let (_, short) = app
        .post(
            "/rpc/calendar/feeds/create",
            &[
                ("input[label]", "Temp"),
                ("input[privacy]", "busy"),
                ("input[expires_in_days]", "30"),
            ],
        )
        .await;
    let id = short["id"].as_str().expect("id");
    app.exec(&format!(
        "UPDATE calendar_feeds SET expires_at = 1000 WHERE id = '{id}'"
    ))
    .await;
    assert_eq!(
        fetch(&served(&app, short["url"].as_str().expect("url")), None)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    // The audit log says who made, rotated and revoked which link.
    let audited = app
        .scalar("SELECT COUNT(*) AS n FROM audit_log WHERE action LIKE 'calendar_feed.%'")
        .await;
    assert_eq!(audited, 4);
}

#[tokio::test]
async fn feed_links_are_checked_scoped_to_the_organization_and_limited_per_feed() {
    let Some(app) = TestApp::spawn_with(|c| c.feed_fetches_per_minute = 3).await else {
        return;
    };
    app.sign_in().await;
    let key = api(&app).await;
    for (body, field) in [
        (json!({ "label": "", "privacy": "full" }), "label"),
        (json!({ "label": "K", "privacy": "public" }), "privacy"),
        (
            json!({ "label": "K", "privacy": "busy", "expires_in_days": 0 }),
            "expires_in_days",
        ),
        (
            json!({ "label": "K", "privacy": "busy", "resource_id": "res_nope" }),
            "resource_id",
        ),
    ] {
        let (status, problem) = key.post("/api/v1/calendar-feeds", body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(problem["code"], "validation");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }

    let (_, feed) = key
        .post(
            "/api/v1/calendar-feeds",
            json!({ "label": "K", "privacy": "busy" }),
        )
        .await;
    let url = served(&app, feed["url"].as_str().expect("url"));
    for _ in 0..3 {
        assert_eq!(fetch(&url, None).await.status(), StatusCode::OK);
    }
    let limited = fetch(&url, None).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers().contains_key(header::RETRY_AFTER));

    // Another organization's key can neither see nor revoke it.
    let other = server::services::demo::ensure_org(&app.db, "Other Place", "UTC", "USD")
        .await
        .expect("second org");
    let (_, other_key) = server::services::api_keys::create(
        &app.db,
        &other.id,
        "x",
        "test",
        app::model::api_scope::ApiScope::ReadWrite,
    )
    .await
    .expect("key");
    let other = crate::api::Api {
        app: &app,
        key: other_key,
    };
    let (_, list) = other.get("/api/v1/calendar-feeds").await;
    assert_eq!(list["data"].as_array().expect("data").len(), 0);
    let (status, _, _) = other
        .call(
            reqwest::Method::DELETE,
            &format!(
                "/api/v1/calendar-feeds/{}",
                feed["id"].as_str().expect("id")
            ),
            None,
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, mine) = key.get("/api/v1/calendar-feeds").await;
    assert_eq!(mine["data"][0]["state"], "active");
}
