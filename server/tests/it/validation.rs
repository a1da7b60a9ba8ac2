//! Bad input gets a precise error and writes nothing.
use reqwest::StatusCode;

use crate::support::{TestApp, booking_form, error_fields, future_date, with};

#[tokio::test]
async fn each_bad_booking_field_is_named_and_nothing_is_written() {
    let Some(app) = TestApp::spawn_signed_in().await else {
        return;
    };
    let resource = app.resource("Table 7", 6).await;
    let client = app.a_client().await;
    let day = future_date(2);
    let good = booking_form(&resource, &client, &day, "19:00", "21:00", "2");
    let (bookings, audit) = (app.count("bookings").await, app.count("audit_log").await);

    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (with(good.clone(), "input[party_size]", "two"), "party_size"),
        (with(good.clone(), "input[party_size]", "0"), "party_size"),
        (with(good.clone(), "input[party_size]", "7"), "party_size"),
        (with(good.clone(), "input[date]", "31/12/2026"), "date"),
        (with(good.clone(), "input[end_time]", "18:00"), "end_time"),
        (
            with(good.clone(), "input[start_time]", "25:00"),
            "start_time",
        ),
        (with(good.clone(), "input[deposit]", "-5"), "deposit"),
        (with(good.clone(), "input[status]", "maybe"), "status"),
        (with(good.clone(), "input[notes]", "quiet\0table"), "notes"),
        (
            with(good.clone(), "input[resource_id]", "res_doesnotexist"),
            "resource_id",
        ),
        (
            with(good.clone(), "input[client_id]", "cli_doesnotexist"),
            "client_id",
        ),
    ];
    for (form, field) in cases {
        let (status, body) = app.post("/rpc/bookings/create", &form).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {body}");
        assert_eq!(body["code"], "validation");
        assert_eq!(error_fields(&body), [field], "{body}");
    }
    assert_eq!(app.count("bookings").await, bookings);
    assert_eq!(app.count("audit_log").await, audit);
}

#[tokio::test]
async fn outside_opening_hours_is_refused_with_the_hours() {
    let Some(app) = TestApp::spawn_signed_in().await else {
        return;
    };
    let (_, opts) = app.post("/rpc/bookings/form-options", &[]).await;
    let terrace = opts["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["name"] == "Terrace")
        .expect("terrace");
    let id = terrace["id"].as_str().expect("id");
    let client = app.a_client().await;
    let day = future_date(2);
    let (status, body) = app
        .post(
            "/rpc/bookings/create",
            &booking_form(id, &client, &day, "08:00", "09:00", "2"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&body), ["start_time"]);
    assert!(
        body["fields"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("12:00–22:00")),
        "{body}"
    );
}

#[tokio::test]
async fn another_organizations_ids_look_like_unknown_ids() {
    let Some(app) = TestApp::spawn_signed_in().await else {
        return;
    };
    // A second tenant with its own resource, guest and booking.
    let other = server::services::demo::ensure_org(&app.db, "Other Place", "UTC", "USD")
        .await
        .expect("org");
    let (foreign_res, foreign_cli, foreign_bk) = {
        use sea_orm::{ActiveModelTrait, ActiveValue::Set};
        use server::db::entities::{booking, client};
        let now = chrono::Utc::now();
        let res = app.resource("Mine", 4).await;
        let c = client::ActiveModel {
            id: Set("cli_foreign".into()),
            organization_id: Set(other.id.clone()),
            name: Set("Foreign Guest".into()),
            email: Set(String::new()),
            phone: Set(String::new()),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&app.db)
        .await
        .expect("client");
        let b = booking::ActiveModel {
            id: Set("bk_foreign".into()),
            organization_id: Set(other.id.clone()),
            resource_id: Set(res.clone()),
            client_id: Set(c.id.clone()),
            starts_at: Set(now),
            ends_at: Set(now + chrono::Duration::hours(1)),
            party_size: Set(1),
            status: Set("confirmed".into()),
            notes: Set(String::new()),
            deposit_minor: Set(0),
            revision: Set(1),
            reminders_opt_out: Set(false),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&app.db)
        .await
        .expect("booking");
        // Move the resource to the other tenant so it is foreign to the signed-in one.
        sea_orm::ConnectionTrait::execute_unprepared(
            &app.db,
            &format!(
                "UPDATE resources SET organization_id = '{}' WHERE id = '{res}'",
                other.id
            ),
        )
        .await
        .expect("move resource");
        (res, c.id, b.id)
    };
    let mine = app.a_client().await;
    let (status, body) = app.post("/rpc/bookings/get", &[("id", &foreign_bk)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["code"], "not_found");
    let (status, _) = app.post("/rpc/clients/get", &[("id", &foreign_cli)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let day = future_date(2);
    let (status, body) = app
        .post(
            "/rpc/bookings/create",
            &booking_form(&foreign_res, &mine, &day, "19:00", "20:00", "2"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&body), ["resource_id"]);
    let (status, _) = app
        .post(
            "/rpc/bookings/cancel",
            &[("id", &foreign_bk), ("revision", "1")],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn malformed_and_oversized_requests_get_clear_errors() {
    let Some(app) = TestApp::spawn_signed_in().await else {
        return;
    };
    // A field of the wrong type at the protocol level (revision must be a number).
    let (status, body) = app
        .post(
            "/rpc/bookings/cancel",
            &[("id", "bk_x"), ("revision", "one")],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], "bad_request");
    // A field the form does not have.
    let (status, body) = app
        .post(
            "/rpc/clients/save",
            &[("input[name]", "Zed"), ("input[shoe_size]", "44")],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("shoe_size")),
        "{body}"
    );

    let clients = app.count("clients").await;
    let huge = "x".repeat(200 * 1024);
    let (status, body) = app
        .post("/rpc/clients/save", &[("input[name]", &huge)])
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["code"], "payload_too_large");
    assert_eq!(app.count("clients").await, clients);
}

#[tokio::test]
async fn client_form_reports_each_bad_field() {
    let Some(app) = TestApp::spawn_signed_in().await else {
        return;
    };
    let (status, body) = app
        .post(
            "/rpc/clients/save",
            &[
                ("input[name]", ""),
                ("input[email]", "not-an-email"),
                ("input[phone]", ""),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&body), ["name", "email"]);
}

#[tokio::test]
async fn an_absurd_page_number_is_an_empty_page_not_an_error() {
    let Some(app) = crate::support::TestApp::spawn_signed_in().await else {
        return;
    };
    let huge = u64::MAX.to_string();
    for (path, field) in [
        ("/rpc/bookings/list", "filter[page]"),
        ("/rpc/clients/list", "page"),
        ("/rpc/invoices/list", "page"),
        ("/rpc/webhooks/deliveries", "filter[page]"),
        ("/rpc/notifications/log", "filter[page]"),
    ] {
        let mut form = vec![(field, huge.as_str())];
        if path == "/rpc/clients/list" {
            form.push(("query", ""));
        }
        let (status, body) = app.post(path, &form).await;
        assert_eq!(status, reqwest::StatusCode::OK, "{path}: {body}");
        assert_eq!(body["items"], serde_json::json!([]), "{path}: {body}");
    }
}
