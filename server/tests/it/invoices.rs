use reqwest::StatusCode;

use crate::support::{TestApp, error_fields, future_date};

#[tokio::test]
async fn an_invoice_totals_its_lines_and_follows_its_lifecycle() {
    let Some(app) = TestApp::spawn_signed_in().await else {
        return;
    };
    let client = app.a_client().await;
    let due = future_date(14);
    let form = [
        ("input[client_id]", client.as_str()),
        ("input[due_on]", due.as_str()),
        ("input[notes]", "Thank you"),
        ("input[lines][0][description]", "Dinner"),
        ("input[lines][0][quantity]", "3"),
        ("input[lines][0][unit_amount]", "42.50"),
        ("input[lines][1][description]", ""),
        ("input[lines][1][quantity]", ""),
        ("input[lines][1][unit_amount]", ""),
        ("input[lines][2][description]", "Corkage"),
        ("input[lines][2][quantity]", ""),
        ("input[lines][2][unit_amount]", "15"),
    ];
    let (status, inv) = app.post("/rpc/invoices/create", &form).await;
    assert_eq!(status, StatusCode::OK, "{inv}");
    assert_eq!(inv["total_minor"], 3 * 4250 + 1500);
    assert_eq!(inv["total_label"], "€142.50");
    assert_eq!(inv["status"], "draft");
    assert_eq!(inv["lines"].as_array().map(Vec::len), Some(2));
    // The demo already issued INV-00001..4.
    assert_eq!(inv["number"], "INV-00005");
    let id = inv["id"].as_str().expect("id");

    let (status, body) = app
        .post(
            "/rpc/invoices/set-status",
            &[("id", id), ("status", "paid")],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "invalid_transition");
    for next in ["sent", "paid", "refunded"] {
        let (status, body) = app
            .post("/rpc/invoices/set-status", &[("id", id), ("status", next)])
            .await;
        assert_eq!(status, StatusCode::OK, "{next}: {body}");
        assert_eq!(body["status"], next);
    }
}

#[tokio::test]
async fn bad_invoice_lines_are_named_and_nothing_is_written() {
    let Some(app) = TestApp::spawn_signed_in().await else {
        return;
    };
    let before = (
        app.count("invoices").await,
        app.count("invoice_lines").await,
    );
    let (status, body) = app
        .post(
            "/rpc/invoices/create",
            &[
                ("input[client_id]", "cli_nobody"),
                ("input[due_on]", "2026-12-31"),
                ("input[lines][0][description]", "Dinner"),
                ("input[lines][0][quantity]", "2"),
                ("input[lines][0][unit_amount]", "12.345"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&body), ["lines.0.unit_amount"]);

    let (status, body) = app
        .post(
            "/rpc/invoices/create",
            &[
                ("input[client_id]", "cli_nobody"),
                ("input[due_on]", "2026-12-31"),
                ("input[lines][0][description]", "Dinner"),
                ("input[lines][0][quantity]", "2"),
                ("input[lines][0][unit_amount]", "12"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&body), ["client_id"]);
    assert_eq!(
        (
            app.count("invoices").await,
            app.count("invoice_lines").await
        ),
        before
    );
}
