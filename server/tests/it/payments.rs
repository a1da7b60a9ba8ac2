//! Stripe payments end to end against the fake Stripe: settings, links, signed events,
//! refunds and reconciliation.
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use server::services::demo;

use crate::fake_stripe;

use crate::fake_stripe::FakeStripe;
use crate::support::{TestApp, booking_form, error_fields, future_date, with};

const SECRET_KEY: &str = "sk_test_51FakeKeyForHitchTests";
const WHSEC: &str = "whsec_hitch_test_signing_secret";

/// A signed-in app whose Stripe is the fake, with keys saved.
async fn app_with_stripe() -> Option<(TestApp, FakeStripe)> {
    app_with_stripe_and(|_| {}).await
}

async fn app_with_stripe_and(
    adjust: impl FnOnce(&mut server::config::Config),
) -> Option<(TestApp, FakeStripe)> {
    let fake = FakeStripe::start().await;
    let base = fake.base.clone();
    let app = TestApp::spawn_with(move |c| {
        c.stripe_api_base = base;
        adjust(c);
    })
    .await?;
    app.sign_in().await;
    let (status, body) = app
        .post(
            "/rpc/payments/stripe/save",
            &[
                ("input[secret_key]", SECRET_KEY),
                ("input[webhook_secret]", WHSEC),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    Some((app, fake))
}

/// A sent invoice of €127.50 for a demo client.
async fn an_invoice(app: &TestApp) -> String {
    let client = app.a_client().await;
    let due = future_date(14);
    let (status, inv) = app
        .post(
            "/rpc/invoices/create",
            &[
                ("input[client_id]", client.as_str()),
                ("input[due_on]", due.as_str()),
                ("input[notes]", ""),
                ("input[lines][0][description]", "Dinner"),
                ("input[lines][0][quantity]", "3"),
                ("input[lines][0][unit_amount]", "42.50"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{inv}");
    let id = inv["id"].as_str().expect("id").to_string();
    let (status, body) = app
        .post(
            "/rpc/invoices/set-status",
            &[("id", &id), ("status", "sent")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    id
}

async fn create_link(app: &TestApp, subject: &str, id: &str) -> (StatusCode, Value) {
    app.post(
        "/rpc/payments/links/create",
        &[("subject", subject), ("subject_id", id)],
    )
    .await
}

async fn invoice_status(app: &TestApp, id: &str) -> String {
    let (_, inv) = app.post("/rpc/invoices/get", &[("id", id)]).await;
    inv["status"].as_str().unwrap_or_default().to_string()
}

async fn link(app: &TestApp, subject: &str, id: &str) -> Value {
    let (status, links) = app
        .post(
            "/rpc/payments/overview",
            &[("subject", subject), ("subject_id", id)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{links}");
    links["links"][0].clone()
}

/// Posts a Stripe event to the organization's endpoint, signed with `secret`.
async fn deliver(app: &TestApp, body: &str, signature: Option<String>) -> (StatusCode, Value) {
    let mut req = app
        .client
        .post(format!("{}/webhooks/stripe/{}", app.base, demo::DEMO_SLUG))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(sig) = signature {
        req = req.header("stripe-signature", sig);
    }
    let res = req.send().await.expect("request");
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn deliver_signed(app: &TestApp, body: &str) -> (StatusCode, Value) {
    let t = chrono::Utc::now().timestamp();
    deliver(app, body, Some(fake_stripe::sign(WHSEC, t, body))).await
}

async fn events_of(app: &TestApp, event_type: &str, entity_id: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) AS n FROM events WHERE event_type = '{event_type}' AND entity_id = '{entity_id}'"
    ))
    .await
}

async fn wait_processed(app: &TestApp) {
    app.eventually(
        "Stripe events processed",
        Duration::from_secs(15),
        || async {
            app.scalar("SELECT COUNT(*) AS n FROM stripe_events WHERE processed_at IS NULL")
                .await
                == 0
        },
    )
    .await;
}

#[tokio::test]
async fn stripe_keys_are_checked_masked_and_never_stored_in_plaintext() {
    let fake = FakeStripe::start().await;
    let base = fake.base.clone();
    let Some(app) = TestApp::spawn_with(move |c| c.stripe_api_base = base).await else {
        return;
    };
    app.sign_in().await;
    let (status, body) = app
        .post(
            "/rpc/payments/stripe/save",
            &[
                ("input[secret_key]", "pk_test_51PublishableNotSecret"),
                ("input[webhook_secret]", "nope"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_fields(&body), ["secret_key", "webhook_secret"]);

    let (status, view) = app
        .post(
            "/rpc/payments/stripe/save",
            &[
                ("input[secret_key]", SECRET_KEY),
                ("input[webhook_secret]", WHSEC),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["configured"], true);
    assert_eq!(view["livemode"], false);
    assert_eq!(view["account_id"], "acct_fake123");
    assert_eq!(view["check_error"], Value::Null);
    assert!(
        view["webhook_url"]
            .as_str()
            .is_some_and(|u| u.ends_with("/webhooks/stripe/demo-bistro")),
        "{view}"
    );
    let text = view.to_string();
    assert!(
        !text.contains(SECRET_KEY) && !text.contains(WHSEC),
        "{text}"
    );
    assert_eq!(view["secret_key_hint"], "sk_test_...ests");
    // The vault holds ciphertext only.
    let plain = app
        .scalar(&format!(
            "SELECT COUNT(*) AS n FROM secrets WHERE ciphertext LIKE '%{}%' OR hint LIKE '%{}%'",
            &SECRET_KEY[8..],
            &SECRET_KEY[8..]
        ))
        .await;
    assert_eq!(plain, 0);

    // Empty fields keep the stored keys; a revoked key is saved but reported.
    let (status, view) = app
        .post(
            "/rpc/payments/stripe/save",
            &[
                ("input[secret_key]", "sk_test_revoked_key_for_tests"),
                ("input[webhook_secret]", ""),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert!(
        view["check_error"]
            .as_str()
            .is_some_and(|e| e.contains("rejected the secret key")),
        "{view}"
    );
    assert_eq!(view["configured"], true);
}

#[tokio::test]
async fn an_invoice_link_is_made_once_and_a_signed_event_marks_the_invoice_paid_once() {
    let Some((app, fake)) = app_with_stripe().await else {
        return;
    };
    let invoice = an_invoice(&app).await;
    let (status, first) = create_link(&app, "invoice", &invoice).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["status"], "active");
    assert_eq!(first["amount_minor"], 12750);
    assert!(
        first["url"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://checkout.stripe.com/"))
    );

    // What Stripe received: minor units, lowercase currency, metadata on the session and
    // its PaymentIntent, an idempotency key.
    let sent = fake.requests();
    let create = sent
        .iter()
        .find(|r| r.path == "/v1/checkout/sessions")
        .expect("session created");
    let form = |k: &str| {
        create
            .form
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(
        form("line_items[0][price_data][unit_amount]"),
        Some("12750")
    );
    assert_eq!(form("line_items[0][price_data][currency]"), Some("eur"));
    assert_eq!(form("metadata[hitch_subject_id]"), Some(invoice.as_str()));
    assert_eq!(
        form("payment_intent_data[metadata][hitch_link_id]"),
        first["id"].as_str()
    );
    assert!(
        create
            .idempotency_key
            .as_deref()
            .is_some_and(|k| k.starts_with("hitch-checkout-pl_"))
    );

    // One active link at a time: asking again returns the same one without calling Stripe.
    let (_, again) = create_link(&app, "invoice", &invoice).await;
    assert_eq!(again["id"], first["id"]);
    assert_eq!(
        fake.requests()
            .iter()
            .filter(|r| r.path == "/v1/checkout/sessions")
            .count(),
        1
    );

    let session = {
        let url = first["url"].as_str().unwrap_or_default();
        let id = url.rsplit('/').next().unwrap_or_default().to_string();
        fake.pay(&id, false)
    };
    let body = fake_stripe::event("evt_paid_1", "checkout.session.completed", session);
    let (status, ack) = deliver_signed(&app, &body).await;
    assert_eq!(status, StatusCode::OK, "{ack}");
    assert_eq!(ack["duplicate"], false);
    wait_processed(&app).await;
    assert_eq!(invoice_status(&app, &invoice).await, "paid");
    let paid = link(&app, "invoice", &invoice).await;
    assert_eq!(paid["status"], "completed");
    assert_eq!(paid["paid"], true);

    // Stripe sends it again: acknowledged, stored once, processed once.
    let (status, ack) = deliver_signed(&app, &body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ack["duplicate"], true);
    wait_processed(&app).await;
    assert_eq!(
        app.scalar("SELECT COUNT(*) AS n FROM stripe_events").await,
        1
    );
    assert_eq!(events_of(&app, "invoice.paid", &invoice).await, 1);

    // A paid invoice gets no new link.
    let (status, body) = create_link(&app, "invoice", &invoice).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("already paid"),
        "{body}"
    );
}

/// Events arrive together (Stripe sends in parallel, and retries overlap): the endpoint
/// stores them in shared transactions, so check that each is still stored exactly
/// once, acknowledged as new exactly once, and processed.
#[tokio::test]
async fn a_burst_of_events_with_repeats_is_stored_once_each() {
    let Some((app, _fake)) = app_with_stripe().await else {
        return;
    };
    let bodies: Vec<String> = (0..40)
        .map(|i| {
            fake_stripe::event(
                &format!("evt_burst_{i}"),
                "customer.created",
                json!({ "id": format!("cus_{i}"), "object": "customer" }),
            )
        })
        .collect();
    // Every event three times, all at once.
    let sends = bodies
        .iter()
        .cycle()
        .take(bodies.len() * 3)
        .map(|b| deliver_signed(&app, b));
    let acks = futures::future::join_all(sends).await;
    assert!(
        acks.iter().all(|(s, _)| *s == StatusCode::OK),
        "every delivery acknowledged: {acks:?}"
    );
    let new = acks.iter().filter(|(_, a)| a["duplicate"] == false).count();
    assert_eq!(new, bodies.len(), "each event is new exactly once");
    assert_eq!(
        app.scalar("SELECT COUNT(*) AS n FROM stripe_events").await,
        40
    );
    wait_processed(&app).await;
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) AS n FROM stripe_events
             WHERE outcome = 'ignored: customer.created is not an event Hitch acts on'"
        )
        .await,
        40,
        "each event is recorded with what processing did"
    );
    // One processing job per stored batch drained them; none is left failing.
    app.eventually(
        "the processing jobs to finish",
        Duration::from_secs(15),
        || async {
            app.scalar(
                "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'stripe.events' AND status <> 'done'",
            )
            .await
                == 0
        },
    )
    .await;
}

/// Events that arrive while their organization's processing job still waits to start
/// join that job rather than queueing one each; when a worker takes it, it applies
/// them all.
#[tokio::test]
async fn events_arriving_while_their_job_waits_share_it() {
    let Some((app, _fake)) = app_with_stripe_and(|c| c.jobs_enabled = false).await else {
        return;
    };
    for i in 0..10 {
        let body = fake_stripe::event(
            &format!("evt_wait_{i}"),
            "customer.created",
            json!({ "id": format!("cus_{i}"), "object": "customer" }),
        );
        let (status, ack) = deliver_signed(&app, &body).await;
        assert_eq!(status, StatusCode::OK, "{ack}");
    }
    assert_eq!(
        app.scalar("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'stripe.events'")
            .await,
        1,
        "one job waits for all ten events"
    );
    let _worker = app.spawn_process(&[]);
    app.eventually(
        "a worker to apply the ten events",
        Duration::from_secs(60),
        || async {
            app.scalar(
                "SELECT COUNT(*) AS n FROM stripe_events
                 WHERE outcome = 'ignored: customer.created is not an event Hitch acts on'",
            )
            .await
                == 10
        },
    )
    .await;
}

#[tokio::test]
async fn the_webhook_endpoint_checks_stripes_signature_scheme() {
    let Some((app, _fake)) = app_with_stripe().await else {
        return;
    };
    let body = fake_stripe::event("evt_sig", "customer.created", json!({ "id": "cus_1" }));
    let now = chrono::Utc::now().timestamp();
    let good = fake_stripe::sign(WHSEC, now, &body);

    let tampered = body.replace("cus_1", "cus_2");
    let (status, err) = deliver(&app, &tampered, Some(good.clone())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["code"], "bad_signature");

    let wrong = fake_stripe::sign("whsec_someone_else", now, &body);
    assert_eq!(
        deliver(&app, &body, Some(wrong)).await.0,
        StatusCode::BAD_REQUEST
    );

    let old = fake_stripe::sign(WHSEC, now - 301, &body);
    let (status, err) = deliver(&app, &body, Some(old)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("seconds"),
        "{err}"
    );

    assert_eq!(deliver(&app, &body, None).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(
        app.count("stripe_events").await,
        0,
        "nothing refused was stored"
    );

    // Two v1 values (Stripe during a secret roll): one matching suffices.
    let other = fake_stripe::sign("whsec_old_secret", now, &body);
    let v1 = |h: &str| {
        h.split_once(",v1=")
            .map(|(_, v)| v.to_string())
            .unwrap_or_default()
    };
    let both = format!("t={now},v1={},v1={}", v1(&other), v1(&good));
    let (status, ack) = deliver(&app, &body, Some(both)).await;
    assert_eq!(status, StatusCode::OK, "{ack}");

    // An event Hitch does not act on is recorded as ignored.
    wait_processed(&app).await;
    let outcome = app
        .scalar("SELECT COUNT(*) AS n FROM stripe_events WHERE outcome LIKE 'ignored:%'")
        .await;
    assert_eq!(outcome, 1);

    // Unknown organization: 404, nothing stored.
    let res = app
        .client
        .post(format!("{}/webhooks/stripe/nobody-here", app.base))
        .header("stripe-signature", good)
        .body(body)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn out_of_order_events_never_move_a_payment_backwards() {
    let Some((app, fake)) = app_with_stripe().await else {
        return;
    };
    let invoice = an_invoice(&app).await;
    let (_, l) = create_link(&app, "invoice", &invoice).await;
    let session_id = l["url"]
        .as_str()
        .unwrap_or_default()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let open = fake.session(&session_id);
    let paid = fake.pay(&session_id, false);

    // `expired` arrives first (sent for an earlier state), then `completed`.
    let mut expired = open.clone();
    expired["status"] = json!("expired");
    deliver_signed(
        &app,
        &fake_stripe::event("evt_exp", "checkout.session.expired", expired),
    )
    .await;
    wait_processed(&app).await;
    assert_eq!(link(&app, "invoice", &invoice).await["status"], "expired");
    deliver_signed(
        &app,
        &fake_stripe::event("evt_done", "checkout.session.completed", paid.clone()),
    )
    .await;
    wait_processed(&app).await;
    let now = link(&app, "invoice", &invoice).await;
    assert_eq!(
        (now["status"].as_str(), now["paid"].as_bool()),
        (Some("completed"), Some(true))
    );
    assert_eq!(invoice_status(&app, &invoice).await, "paid");

    // A late `expired` or a failed attempt changes nothing now.
    let mut late = open;
    late["status"] = json!("expired");
    deliver_signed(
        &app,
        &fake_stripe::event("evt_exp2", "checkout.session.expired", late),
    )
    .await;
    let pi = paid["payment_intent"].clone();
    deliver_signed(
        &app,
        &fake_stripe::event(
            "evt_pf",
            "payment_intent.payment_failed",
            json!({ "id": pi, "object": "payment_intent", "last_payment_error": { "message": "Your card was declined." } }),
        ),
    )
    .await;
    wait_processed(&app).await;
    let after = link(&app, "invoice", &invoice).await;
    assert_eq!(
        (after["status"].as_str(), after["paid"].as_bool()),
        (Some("completed"), Some(true))
    );
    assert_eq!(after["last_error"], Value::Null);
    assert_eq!(events_of(&app, "invoice.paid", &invoice).await, 1);
}

#[tokio::test]
async fn stripe_down_while_making_a_link_says_so_and_saves_nothing() {
    let Some((app, fake)) = app_with_stripe().await else {
        return;
    };
    let invoice = an_invoice(&app).await;
    // Both the call and its one quick retry fail.
    fake.fail_next(2, StatusCode::SERVICE_UNAVAILABLE);
    let (status, body) = create_link(&app, "invoice", &invoice).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert_eq!(body["code"], "provider_error");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("Stripe is not answering"),
        "{body}"
    );
    assert_eq!(app.count("payment_links").await, 0);
    // The retry reused the idempotency key, so Stripe could never create two sessions.
    let keys: Vec<_> = fake
        .requests()
        .iter()
        .filter(|r| r.path == "/v1/checkout/sessions")
        .map(|r| r.idempotency_key.clone())
        .collect();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0], keys[1]);

    // A single blip is absorbed by the retry.
    fake.fail_next(1, StatusCode::TOO_MANY_REQUESTS);
    let (status, body) = create_link(&app, "invoice", &invoice).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(app.count("payment_links").await, 1);
}

#[tokio::test]
async fn without_stripe_keys_a_link_request_says_what_to_set_up() {
    let Some(app) = TestApp::spawn_signed_in().await else {
        return;
    };
    let invoice = an_invoice(&app).await;
    let (status, body) = create_link(&app, "invoice", &invoice).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "not_configured");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("Integrations"),
        "{body}"
    );
}

#[tokio::test]
async fn partial_and_full_refunds_follow_through_to_the_invoice() {
    let Some((app, fake)) = app_with_stripe().await else {
        return;
    };
    let invoice = an_invoice(&app).await;
    let (_, l) = create_link(&app, "invoice", &invoice).await;
    let link_id = l["id"].as_str().unwrap_or_default().to_string();
    let session_id = l["url"]
        .as_str()
        .unwrap_or_default()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();

    // Not paid yet: nothing to refund.
    let (status, body) = app
        .post(
            "/rpc/payments/refund",
            &[
                ("link_id", &link_id),
                ("input[amount]", ""),
                ("input[reason]", ""),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    let paid = fake.pay(&session_id, false);
    deliver_signed(
        &app,
        &fake_stripe::event("evt_p", "checkout.session.completed", paid.clone()),
    )
    .await;
    wait_processed(&app).await;

    let (status, body) = app
        .post(
            "/rpc/payments/refund",
            &[
                ("link_id", &link_id),
                ("input[amount]", "127.51"),
                ("input[reason]", ""),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_fields(&body), ["amount"]);

    let (status, part) = app
        .post(
            "/rpc/payments/refund",
            &[
                ("link_id", &link_id),
                ("input[amount]", "42.50"),
                ("input[reason]", "Wine was corked"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{part}");
    assert_eq!(part["refunded_minor"], 4250);
    assert_eq!(part["refunds"][0]["reason"], "Wine was corked");
    assert_eq!(invoice_status(&app, &invoice).await, "paid");

    // Stripe's own charge.refunded for the same refund changes nothing further.
    let pi = paid["payment_intent"].clone();
    deliver_signed(
        &app,
        &fake_stripe::event("evt_r1", "charge.refunded", json!({ "id": "ch_1", "object": "charge", "payment_intent": pi, "amount": 12750, "amount_refunded": 4250 })),
    )
    .await;
    wait_processed(&app).await;
    assert_eq!(
        link(&app, "invoice", &invoice).await["refunded_minor"],
        4250
    );

    let (status, full) = app
        .post(
            "/rpc/payments/refund",
            &[
                ("link_id", &link_id),
                ("input[amount]", ""),
                ("input[reason]", ""),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{full}");
    assert_eq!(full["refunded_minor"], 12750);
    assert_eq!(invoice_status(&app, &invoice).await, "refunded");
    assert_eq!(events_of(&app, "invoice.refunded", &invoice).await, 2);
    let refunds: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/v1/refunds")
        .collect();
    assert_eq!(refunds.len(), 2);
    assert!(refunds[1].form.contains(&("amount".into(), "8500".into())));
}

#[tokio::test]
async fn a_paid_deposit_confirms_the_pending_booking() {
    let Some((app, fake)) = app_with_stripe().await else {
        return;
    };
    let resource = app.resource("Chef's table", 8).await;
    let client = app.a_client().await;
    let day = future_date(5);
    let form = booking_form(&resource, &client, &day, "19:00", "21:00", "4");
    let form = with(
        with(form, "input[deposit]", "25"),
        "input[status]",
        "pending",
    );
    let (status, b) = app.post("/rpc/bookings/create", &form).await;
    assert_eq!(status, StatusCode::OK, "{b}");
    let booking = b["id"].as_str().unwrap_or_default().to_string();

    let (status, l) = create_link(&app, "deposit", &booking).await;
    assert_eq!(status, StatusCode::OK, "{l}");
    assert_eq!(l["amount_minor"], 2500);
    let session_id = l["url"]
        .as_str()
        .unwrap_or_default()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();

    // A delayed payment method: completed but unpaid, then it succeeds.
    let pending = fake.pay(&session_id, true);
    deliver_signed(
        &app,
        &fake_stripe::event("evt_c", "checkout.session.completed", pending.clone()),
    )
    .await;
    wait_processed(&app).await;
    let (_, now) = app.post("/rpc/bookings/get", &[("id", &booking)]).await;
    assert_eq!(
        now["status"], "pending",
        "not confirmed before the money arrives"
    );
    let mut settled = pending;
    settled["payment_status"] = json!("paid");
    deliver_signed(
        &app,
        &fake_stripe::event("evt_s", "checkout.session.async_payment_succeeded", settled),
    )
    .await;
    wait_processed(&app).await;
    let (_, now) = app.post("/rpc/bookings/get", &[("id", &booking)]).await;
    assert_eq!(now["status"], "confirmed");
    assert_eq!(events_of(&app, "booking.deposit_paid", &booking).await, 1);
    assert_eq!(events_of(&app, "booking.confirmed", &booking).await, 1);
    let (status, body) = create_link(&app, "deposit", &booking).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}

#[tokio::test]
async fn reconciliation_finds_a_payment_whose_event_never_came_and_retries_when_stripe_is_down() {
    let Some((app, fake)) = app_with_stripe().await else {
        return;
    };
    let invoice = an_invoice(&app).await;
    let (_, l) = create_link(&app, "invoice", &invoice).await;
    let session_id = l["url"]
        .as_str()
        .unwrap_or_default()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    fake.pay(&session_id, false); // …and Stripe's event is lost.

    let sweep = || async {
        server::stripe::reconcile::sweep(&app.platform.stripe, &app.platform.jobs)
            .await
            .expect("sweep")
    };
    assert_eq!(sweep().await, 0, "a fresh link is left alone");
    // Make the link look 20 minutes old.
    app.exec("UPDATE payment_links SET created_at = created_at - 1200000")
        .await;
    fake.fail_next(1, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(sweep().await, 1);
    assert_eq!(
        sweep().await,
        0,
        "a link being checked is not enqueued twice"
    );
    // The first check meets the outage and is retried; move the retry to now.
    app.eventually("the check to fail once", Duration::from_secs(10), || async {
        app.scalar("SELECT COUNT(*) AS n FROM job_attempts a JOIN jobs j ON j.id = a.job_id WHERE j.kind = 'stripe.check_link'")
            .await
            >= 1
    })
    .await;
    app.exec("UPDATE jobs SET run_at = 0 WHERE kind = 'stripe.check_link' AND status = 'queued'")
        .await;
    app.platform.hub.jobs_enqueued();
    app.eventually(
        "the invoice to be paid",
        Duration::from_secs(15),
        || async { invoice_status(&app, &invoice).await == "paid" },
    )
    .await;
    assert_eq!(events_of(&app, "invoice.paid", &invoice).await, 1);
}

#[tokio::test]
async fn staff_can_expire_a_link_and_make_a_new_one_and_stripes_expiry_is_noticed() {
    let Some((app, fake)) = app_with_stripe().await else {
        return;
    };
    let invoice = an_invoice(&app).await;
    let (_, first) = create_link(&app, "invoice", &invoice).await;
    let first_id = first["id"].as_str().unwrap_or_default().to_string();
    let (status, expired) = app
        .post("/rpc/payments/links/expire", &[("link_id", &first_id)])
        .await;
    assert_eq!(status, StatusCode::OK, "{expired}");
    assert_eq!(expired["status"], "cancelled");
    let session_id = |l: &Value| {
        l["url"]
            .as_str()
            .unwrap_or_default()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(fake.session(&session_id(&first))["status"], "expired");
    let (status, again) = app
        .post("/rpc/payments/links/expire", &[("link_id", &first_id)])
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");

    // A new link; Stripe expires it on its own and the event is lost: the sweep notices.
    let (_, second) = create_link(&app, "invoice", &invoice).await;
    assert_ne!(second["id"], first["id"]);
    fake.expire_now(&session_id(&second));
    app.exec("UPDATE payment_links SET created_at = created_at - 1200000")
        .await;
    server::stripe::reconcile::sweep(&app.platform.stripe, &app.platform.jobs)
        .await
        .expect("sweep");
    app.eventually(
        "the link to be expired",
        Duration::from_secs(15),
        || async { link(&app, "invoice", &invoice).await["status"] == "expired" },
    )
    .await;
    assert_eq!(invoice_status(&app, &invoice).await, "sent");
}

/// A link Stripe refuses to tell about is checked once, marked, and left alone: sweeps
/// do not pile up dead jobs. The check belongs to the link's organization, and another
/// organization's managers neither see nor retry it.
#[tokio::test]
async fn a_refused_check_is_not_repeated_and_stays_in_its_organization() {
    use app::model::auth::Role;
    let Some((app, fake)) = app_with_stripe().await else {
        return;
    };
    let invoice = an_invoice(&app).await;
    create_link(&app, "invoice", &invoice).await;
    let now = server::platform::now_ms();
    // Twenty minutes old and past its expiry, still active here.
    app.exec(&format!(
        "UPDATE payment_links SET created_at = created_at - 1200000, expires_at = {}",
        now - 60_000
    ))
    .await;
    let sweep = || async {
        server::stripe::reconcile::sweep(&app.platform.stripe, &app.platform.jobs)
            .await
            .expect("sweep")
    };
    let checks = || async {
        app.scalar("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'stripe.check_link'")
            .await
    };
    fake.fail_next(1, StatusCode::NOT_FOUND);
    assert_eq!(sweep().await, 1);
    assert_eq!(sweep().await, 0, "enqueued again while its check waits");
    app.eventually("the check to be refused", Duration::from_secs(15), || async {
        app.scalar("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'stripe.check_link' AND status = 'dead'")
            .await
            == 1
    })
    .await;
    // Later sweeps, even long after, leave the refused link alone.
    app.exec("UPDATE payment_links SET checked_at = checked_at - 3600000")
        .await;
    assert_eq!(sweep().await, 0);
    assert_eq!(checks().await, 1);

    let job_id: String = {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let j = server::db::entities::job::Entity::find()
            .filter(server::db::entities::job::Column::Kind.eq("stripe.check_link"))
            .one(&app.db)
            .await
            .expect("query")
            .expect("the check job");
        assert_eq!(j.organization_id.as_deref(), Some(app.org_id.as_str()));
        j.id
    };
    // Another organization's owner: not listed, not retried.
    let other = demo::ensure_org(&app.db, "Other Place", "Europe/London", "GBP")
        .await
        .expect("org");
    let owner = demo::upsert_user(
        &app.db,
        &other,
        "owner@other.example",
        "Other Owner",
        "another-password-2026",
        Role::Owner,
    )
    .await
    .expect("user");
    let user = server::services::auth::load_user(&app.db, &owner.id)
        .await
        .expect("load")
        .expect("user");
    let ports = server::ports(&app.platform);
    let seen = ports.platform.jobs(&user).await.expect("jobs");
    assert!(
        !format!("{seen:?}").contains(&job_id),
        "another organization's job is listed: {seen:?}"
    );
    assert!(ports.platform.retry_job(&user, &job_id).await.is_err());
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) AS n FROM jobs WHERE id = '{job_id}' AND status = 'dead'"
        ))
        .await,
        1,
        "retried by another organization"
    );
}
