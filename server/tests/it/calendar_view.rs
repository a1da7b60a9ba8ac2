//! The dashboard's calendar view: a day per resource and a week per day, drawn on the
//! server (no JavaScript needed), overlapping bookings side by side.
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::api::api;
use crate::support::{TestApp, future_date};

async fn book(
    key: &crate::api::Api<'_>,
    resource: &str,
    client: &str,
    day: &str,
    from: &str,
    to: &str,
) -> String {
    let (status, b) = key
        .post(
            "/api/v1/bookings",
            json!({
                "resource_id": resource, "client_id": client,
                "starts_at": format!("{day}T{from}:00Z"), "ends_at": format!("{day}T{to}:00Z"),
                "party_size": 2,
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
    b["id"].as_str().expect("id").to_string()
}

fn column<'a>(agenda: &'a Value, label: &str) -> &'a Value {
    agenda["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .find(|c| c["label"] == label)
        .unwrap_or_else(|| panic!("no column {label}: {agenda}"))
}

#[tokio::test]
async fn a_day_shows_each_resource_with_overlaps_side_by_side_and_a_week_shows_each_day() {
    let Some(app) = TestApp::spawn_signed_in().await else {
        return;
    };
    // Organization time: the demo is in Europe/Paris; use UTC times well inside a day.
    let key = api(&app).await;
    let terrace = app.resource("Zeta terrace", 10).await;
    let client = app.a_client().await;
    let day = future_date(9);
    let a = book(&key, &terrace, &client, &day, "10:00", "12:00").await;
    let b = book(&key, &terrace, &client, &day, "11:00", "13:00").await;
    let c = book(&key, &terrace, &client, &day, "15:00", "16:00").await;

    let (status, agenda) = app
        .post(
            "/rpc/calendar/agenda",
            &[("query[date]", &day), ("query[view]", "day")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{agenda}");
    let items = column(&agenda, "Zeta terrace")["items"]
        .as_array()
        .expect("items")
        .clone();
    let by_id = |id: &str| {
        items
            .iter()
            .find(|i| i["booking_id"] == id)
            .expect("item")
            .clone()
    };
    // 10:00 UTC is 11:00 in Paris.
    assert_eq!(by_id(&a)["start_minute"], 11 * 60);
    assert_eq!(by_id(&a)["time"], "11:00–13:00");
    assert_eq!(
        (by_id(&a)["lanes"].clone(), by_id(&b)["lanes"].clone()),
        (json!(2), json!(2))
    );
    assert_ne!(by_id(&a)["lane"], by_id(&b)["lane"]);
    assert_eq!(
        by_id(&c)["lanes"],
        1,
        "a booking alone takes the full width"
    );

    // The page itself, as a browser without JavaScript gets it.
    let html = app.page(&format!("/calendar?date={day}")).await;
    for id in [&a, &b, &c] {
        assert!(
            html.contains(&format!("href=\"/bookings/{id}\"")),
            "{id} not on the page"
        );
    }
    assert!(html.contains("Zeta terrace"));

    // The week: Monday to Sunday, the bookings under their day, the resource named.
    let (_, week) = app
        .post(
            "/rpc/calendar/agenda",
            &[
                ("query[date]", &day),
                ("query[view]", "week"),
                ("query[resource_id]", &terrace),
            ],
        )
        .await;
    let columns = week["columns"].as_array().expect("columns");
    assert_eq!(columns.len(), 7);
    assert_eq!(columns[0]["label"], "Mon");
    let with_items: Vec<&Value> = columns
        .iter()
        .filter(|c| !c["items"].as_array().expect("items").is_empty())
        .collect();
    assert_eq!(with_items.len(), 1);
    assert_eq!(with_items[0]["items"].as_array().expect("items").len(), 3);

    // A cancelled booking leaves the view.
    let (_, got) = key.get(&format!("/api/v1/bookings/{c}")).await;
    let (status, _) = key
        .post(
            &format!("/api/v1/bookings/{c}/cancel"),
            json!({ "revision": got["revision"] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let html = app.page(&format!("/calendar?date={day}")).await;
    assert!(!html.contains(&format!("/bookings/{c}\"")));
}

#[tokio::test]
async fn a_wrong_date_view_or_resource_is_a_field_error_not_a_failure() {
    let Some(app) = TestApp::spawn_signed_in().await else {
        return;
    };
    for (name, value, field) in [
        ("query[date]", "2026-13-45", "date"),
        ("query[view]", "month", "view"),
        ("query[resource_id]", "res_elsewhere", "resource_id"),
    ] {
        let (status, body) = app.post("/rpc/calendar/agenda", &[(name, value)]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["fields"][0]["field"], field, "{body}");
    }
    // An empty day reads as such.
    let html = app
        .page(&format!("/calendar?date={}", future_date(400)))
        .await;
    assert!(html.contains("Nothing booked on this day."));
}
