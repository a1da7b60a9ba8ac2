use reqwest::StatusCode;

use crate::support::{TestApp, booking_form, future_date};

#[tokio::test]
async fn a_created_booking_is_listed_for_its_day_in_local_time() {
    let Some(app) = TestApp::spawn_signed_in().await else {
        return;
    };
    let resource = app.resource("Chef's table", 8).await;
    let client = app.a_client().await;
    let day = future_date(3);
    let (status, body) = app
        .post(
            "/rpc/bookings/create",
            &booking_form(&resource, &client, &day, "19:30", "21:00", "4"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["id"].as_str().is_some_and(|id| id.starts_with("bk_")));
    assert_eq!(body["revision"], 1);
    let id = body["id"].as_str().expect("id").to_string();

    let (status, page) = app
        .post(
            "/rpc/bookings/list",
            &[("filter[day]", &day), ("filter[page]", "1")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let mine: Vec<_> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|b| b["id"] == id.as_str())
        .collect();
    assert_eq!(mine.len(), 1);
    // Europe/Paris wall time round-trips through UTC storage.
    assert_eq!(mine[0]["start_time"], "19:30");
    assert_eq!(mine[0]["end_time"], "21:00");
    assert_eq!(mine[0]["resource_name"], "Chef's table");
    assert_eq!(mine[0]["party_size"], 4);
}

#[tokio::test]
async fn status_filter_and_pagination_work() {
    let Some(app) = TestApp::spawn_signed_in().await else {
        return;
    };
    let (status, all) = app
        .post("/rpc/bookings/list", &[("filter[page]", "1")])
        .await;
    assert_eq!(status, StatusCode::OK);
    let total = all["total"].as_u64().expect("total");
    assert!(total > 0);
    assert!(
        all["items"].as_array().expect("items").len() as u64
            <= all["per_page"].as_u64().expect("per page")
    );

    let (_, pending) = app
        .post(
            "/rpc/bookings/list",
            &[("filter[status]", "pending"), ("filter[page]", "1")],
        )
        .await;
    let items = pending["items"].as_array().expect("items");
    assert!(!items.is_empty());
    assert!(items.iter().all(|b| b["status"] == "pending"));
    assert!(pending["total"].as_u64().expect("total") < total);

    // Past the last page: no rows, and still the true total (the pager needs it).
    let per_page = all["per_page"].as_u64().expect("per page");
    let beyond = (total / per_page + 2).to_string();
    let (status, empty) = app
        .post("/rpc/bookings/list", &[("filter[page]", beyond.as_str())])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(empty["items"].as_array().expect("items").len(), 0);
    assert_eq!(empty["total"].as_u64().expect("total"), total);
}

#[tokio::test]
async fn a_busy_day_pages_in_start_order_with_every_booking_once() {
    let Some(app) = TestApp::spawn_signed_in().await else {
        return;
    };
    let resource = app.resource("Hall", 100).await;
    let client = app.a_client().await;
    let day = future_date(6);
    let list = |page: u64| {
        let (app, day) = (&app, day.clone());
        async move {
            let page = page.to_string();
            let (status, body) = app
                .post(
                    "/rpc/bookings/list",
                    &[
                        ("filter[day]", day.as_str()),
                        ("filter[page]", page.as_str()),
                    ],
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            body
        }
    };
    let before = list(1).await["total"].as_u64().expect("total");
    // 55 more at 11 start times, five at each, created out of order.
    let mut created = Vec::new();
    for i in 0..55 {
        let hour = 8 + (i * 7) % 11;
        let (start, end) = (format!("{hour:02}:00"), format!("{hour:02}:30"));
        let (status, body) = app
            .post(
                "/rpc/bookings/create",
                &booking_form(&resource, &client, &day, &start, &end, "1"),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        created.push(body["id"].as_str().expect("id").to_string());
    }
    let total = before + 55;
    let mut seen = Vec::new();
    let pages = total.div_ceil(50);
    for page in 1..=pages {
        let body = list(page).await;
        assert_eq!(body["total"], total, "page {page}");
        let items = body["items"].as_array().expect("items");
        let full = if page == pages {
            total - 50 * (pages - 1)
        } else {
            50
        };
        assert_eq!(items.len() as u64, full, "page {page}");
        seen.extend(items.iter().map(|b| {
            (
                b["start_time"].as_str().expect("start").to_string(),
                b["id"].as_str().expect("id").to_string(),
            )
        }));
    }
    // Ordered by start and, within a start, by id: so the pages neither repeat nor skip
    // a booking.
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted);
    assert_eq!(seen.len() as u64, total);
    for id in &created {
        assert_eq!(seen.iter().filter(|s| &s.1 == id).count(), 1, "{id}");
    }
}

#[tokio::test]
async fn reschedule_bumps_revision_and_stale_edits_are_refused() {
    let Some(app) = TestApp::spawn_signed_in().await else {
        return;
    };
    let resource = app.resource("Studio", 2).await;
    let client = app.a_client().await;
    let day = future_date(4);
    let (_, created) = app
        .post(
            "/rpc/bookings/create",
            &booking_form(&resource, &client, &day, "10:00", "11:00", "2"),
        )
        .await;
    let id = created["id"].as_str().expect("id").to_string();

    let mut form = booking_form(&resource, &client, &day, "12:00", "13:00", "2");
    form.push(("id", &id));
    form.push(("revision", "1"));
    let (status, moved) = app.post("/rpc/bookings/update", &form).await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["start_time"], "12:00");
    assert_eq!(moved["revision"], 2);

    // A second edit still based on revision 1 must not overwrite the first.
    let (status, body) = app.post("/rpc/bookings/update", &form).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["code"], "stale_revision");

    // The old slot is free again: someone else can take 10:00 with the full capacity.
    let (status, body) = app
        .post(
            "/rpc/bookings/create",
            &booking_form(&resource, &client, &day, "10:00", "11:00", "2"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn cancelling_frees_the_slot_and_is_audited() {
    let Some(app) = TestApp::spawn_signed_in().await else {
        return;
    };
    let resource = app.resource("Boat", 2).await;
    let client = app.a_client().await;
    let day = future_date(5);
    let form = booking_form(&resource, &client, &day, "15:00", "16:00", "2");
    let (_, first) = app.post("/rpc/bookings/create", &form).await;
    let id = first["id"].as_str().expect("id").to_string();
    let (status, _) = app.post("/rpc/bookings/create", &form).await;
    assert_eq!(status, StatusCode::CONFLICT);

    let (status, cancelled) = app
        .post(
            "/rpc/bookings/cancel",
            &[("id", &id), ("revision", "1"), ("reason", "Rain")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
    let (status, again) = app
        .post("/rpc/bookings/cancel", &[("id", &id), ("revision", "2")])
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(again["code"], "invalid_transition");

    let (status, body) = app.post("/rpc/bookings/create", &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (_, audit) = app.post("/rpc/settings/audit", &[("page", "1")]).await;
    let actions: Vec<_> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|a| a["action"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        actions.contains(&"booking.cancelled".to_string()),
        "{actions:?}"
    );
    assert!(
        audit["items"][0]["actor"]
            .as_str()
            .is_some_and(|a| a.contains("owner@demo.hitch.test"))
    );
}
