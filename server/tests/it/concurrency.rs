use reqwest::StatusCode;

use crate::support::{TestApp, booking_form, future_date};

/// 50 guests race for the last two seats: exactly one wins, 49 hear "slot taken".
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_requests_for_the_last_free_slot_make_one_booking() {
    let Some(app) = TestApp::spawn_signed_in().await else {
        return;
    };
    let resource = app.resource("Bar counter", 4).await;
    let client = app.a_client().await;
    let day = future_date(6);
    let (status, body) = app
        .post(
            "/rpc/bookings/create",
            &booking_form(&resource, &client, &day, "20:00", "22:00", "2"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let before = app.count("bookings").await;

    let app = std::sync::Arc::new(app);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (app, resource, client, day) =
                (app.clone(), resource.clone(), client.clone(), day.clone());
            tokio::spawn(async move {
                app.post(
                    "/rpc/bookings/create",
                    &booking_form(&resource, &client, &day, "21:00", "23:00", "2"),
                )
                .await
            })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        let (status, body) = t.await.expect("task");
        match status {
            StatusCode::OK => won += 1,
            StatusCode::CONFLICT => {
                assert_eq!(body["code"], "slot_taken", "{body}");
                assert!(
                    body["detail"]
                        .as_str()
                        .is_some_and(|d| d.contains("Bar counter")),
                    "{body}"
                );
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(won, 1);
    assert_eq!(app.count("bookings").await, before + 1);
}

/// Staff sending invoices at the same moment: each change reads the invoice and then
/// writes it. On SQLite a transaction that read before another connection committed
/// cannot start writing, so every one of them must take the write lock up front.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn invoices_sent_at_the_same_moment_all_go_through() {
    let Some(app) = TestApp::spawn_signed_in().await else {
        return;
    };
    let client = app.a_client().await;
    let due = future_date(14);
    let mut ids = Vec::new();
    for n in 0..24 {
        let description = format!("Dinner {n}");
        let (status, inv) = app
            .post(
                "/rpc/invoices/create",
                &[
                    ("input[client_id]", client.as_str()),
                    ("input[due_on]", due.as_str()),
                    ("input[notes]", ""),
                    ("input[lines][0][description]", description.as_str()),
                    ("input[lines][0][quantity]", "1"),
                    ("input[lines][0][unit_amount]", "30.00"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{inv}");
        ids.push(inv["id"].as_str().expect("id").to_string());
    }

    let app = std::sync::Arc::new(app);
    let tasks: Vec<_> = ids
        .iter()
        .map(|id| {
            let (app, id) = (app.clone(), id.clone());
            tokio::spawn(async move {
                app.post(
                    "/rpc/invoices/set-status",
                    &[("id", id.as_str()), ("status", "sent")],
                )
                .await
            })
        })
        .collect();
    for t in tasks {
        let (status, body) = t.await.expect("task");
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["status"], "sent", "{body}");
    }
    let listed = ids
        .iter()
        .map(|id| format!("'{id}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let sent = app
        .scalar(&format!(
            "SELECT COUNT(*) AS n FROM invoices WHERE status = 'sent' AND id IN ({listed})"
        ))
        .await;
    assert_eq!(sent, 24);
}
