//! Outbound webhooks against a local receiver: signatures checked by an independent
//! Standard Webhooks verifier written from the spec, the retry schedule and status
//! handling (time moved by the test, not waited for), SSRF refusals, replay, and
//! Zapier REST hooks.
// A panic is how these helpers report a broken receiver or response.
#![allow(clippy::unwrap_used)]
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode as AxStatus};
use axum::response::IntoResponse;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::api::{Api, api};
use crate::support::TestApp;

/// What the receiver answers next (then 200 once the script is used up).
#[derive(Clone)]
pub(crate) enum Reply {
    Status(u16),
    WithHeader(u16, &'static str, &'static str),
    Hang(Duration),
    /// A 200 with a body of this many bytes.
    Big(usize),
}

#[derive(Clone, Debug)]
pub(crate) struct Received {
    pub(crate) headers: HeaderMap,
    body: String,
    at: std::time::Instant,
}

#[derive(Clone, Default)]
pub(crate) struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<Reply>>>,
    /// Once set, every request must verify with one of these secrets.
    secrets: Arc<Mutex<Vec<String>>>,
    unverified: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    pub(crate) async fn start() -> (Receiver, String) {
        let r = Receiver::default();
        let state = r.clone();
        let app = axum::Router::new()
            .route(
                "/hook",
                axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                    let state = state.clone();
                    async move {
                        let secrets = state.secrets.lock().unwrap().clone();
                        if !secrets.is_empty() {
                            let text = String::from_utf8_lossy(&body);
                            if !secrets.iter().any(|s| verify(s, &headers, &text).is_ok()) {
                                state.unverified.lock().unwrap().push(text.into_owned());
                            }
                        }
                        state.got.lock().unwrap().push(Received {
                            headers,
                            body: String::from_utf8_lossy(&body).into(),
                            at: std::time::Instant::now(),
                        });
                        let next = state.script.lock().unwrap().pop_front();
                        match next {
                            None => (AxStatus::OK, "thanks").into_response(),
                            Some(Reply::Status(code)) => {
                                let mut res = AxStatus::from_u16(code).unwrap().into_response();
                                if (300..400).contains(&code) {
                                    res.headers_mut()
                                        .insert("location", "/elsewhere".parse().unwrap());
                                }
                                res
                            }
                            Some(Reply::WithHeader(code, k, v)) => {
                                (AxStatus::from_u16(code).unwrap(), [(k, v)], "slow down")
                                    .into_response()
                            }
                            Some(Reply::Hang(d)) => {
                                tokio::time::sleep(d).await;
                                (AxStatus::OK, "too late").into_response()
                            }
                            Some(Reply::Big(n)) => (AxStatus::OK, "x".repeat(n)).into_response(),
                        }
                    }
                }),
            )
            // Were a redirect followed, the attempt would log this 418 instead of the 3xx.
            .route(
                "/elsewhere",
                axum::routing::post(|| async { (AxStatus::IM_A_TEAPOT, "redirect followed") }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (r, format!("http://127.0.0.1:{}/hook", addr.port()))
    }

    pub(crate) fn script(&self, replies: &[Reply]) {
        self.script.lock().unwrap().extend(replies.iter().cloned());
    }

    pub(crate) fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// From now on, check every request's signature against `secret` too.
    fn trust(&self, secret: &str) {
        self.secrets.lock().unwrap().push(secret.to_string());
    }

    /// Requests whose signature no trusted secret verified.
    fn unverified(&self) -> Vec<String> {
        self.unverified.lock().unwrap().clone()
    }
}

/// Standard Webhooks verification, written from the specification independently of
/// `server::consumers::webhooks::signing`: base64 HMAC-SHA256 of `id.timestamp.body` with the
/// decoded `whsec_` key; any one `v1` signature may match; timestamp within 5 minutes.
fn verify(secret: &str, headers: &HeaderMap, body: &str) -> Result<(), String> {
    use base64::Engine;
    use hmac::Mac;
    let h = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .ok_or(format!("missing {name}"))
    };
    let (id, ts, sigs) = (
        h("webhook-id")?,
        h("webhook-timestamp")?,
        h("webhook-signature")?,
    );
    let ts_num: i64 = ts.parse().map_err(|_| "timestamp not a number")?;
    if (chrono::Utc::now().timestamp() - ts_num).abs() > 300 {
        return Err("timestamp outside tolerance".into());
    }
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .map_err(|_| "secret not base64")?;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).map_err(|e| e.to_string())?;
    mac.update(format!("{id}.{ts}.{body}").as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    if sigs
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .any(|s| s == expected)
    {
        Ok(())
    } else {
        Err(format!("no signature in `{sigs}` matches"))
    }
}

async fn app() -> Option<TestApp> {
    TestApp::spawn_with(|c| {
        c.outbound_allow = "127.0.0.0/8".into();
        c.webhook_timeout_seconds = 1;
    })
    .await
}

pub(crate) async fn endpoint(api: &Api<'_>, url: &str, types: Value) -> (String, String) {
    let (status, ep) = api
        .post(
            "/api/v1/webhook-endpoints",
            json!({ "url": url, "event_types": types, "description": "test" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ep}");
    let secret = ep["secret"]
        .as_str()
        .expect("secret shown once")
        .to_string();
    assert!(secret.starts_with("whsec_"));
    (ep["id"].as_str().unwrap().to_string(), secret)
}

pub(crate) async fn new_client(api: &Api<'_>, name: &str) -> String {
    let (status, c) = api.post("/api/v1/clients", json!({ "name": name })).await;
    assert_eq!(status, StatusCode::CREATED, "{c}");
    c["id"].as_str().unwrap().to_string()
}

async fn wait_for(app: &TestApp, r: &Receiver, n: usize) {
    app.eventually(&format!("{n} deliveries"), Duration::from_secs(15), || {
        let len = r.received().len();
        async move { len >= n }
    })
    .await;
}

async fn only_delivery(api: &Api<'_>, endpoint: &str) -> Value {
    let (status, list) = api
        .get(&format!(
            "/api/v1/webhook-deliveries?endpoint_id={endpoint}"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let data = list["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "{list}");
    let id = data[0]["id"].as_str().unwrap();
    api.get(&format!("/api/v1/webhook-deliveries/{id}")).await.1
}

/// Waits until the delivery's job is scheduled again, makes it due now, and returns how
/// far ahead it had been scheduled: the test moves time instead of waiting for it.
async fn fast_forward(app: &TestApp, delivery: &str) -> Duration {
    let mut ahead = -1;
    for _ in 0..400 {
        let now = server::platform::now_ms();
        ahead = app
            .scalar(&format!(
                "SELECT CASE WHEN j.status = 'queued' AND j.run_at > {now} THEN j.run_at - {now} ELSE -1 END AS n
                 FROM jobs j JOIN webhook_deliveries d ON d.job_id = j.id WHERE d.id = '{delivery}'"
            ))
            .await;
        if ahead >= 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(ahead >= 0, "the delivery's job was never scheduled again");
    app.db
        .execute_unprepared(&format!(
            "UPDATE jobs SET run_at = 0 WHERE id = (SELECT job_id FROM webhook_deliveries WHERE id = '{delivery}')"
        ))
        .await
        .expect("fast forward");
    app.platform.hub.jobs_enqueued();
    Duration::from_millis(ahead as u64)
}

use sea_orm::ConnectionTrait;

#[tokio::test]
async fn deliveries_verify_with_an_independent_verifier_through_a_rotation() {
    let Some(app) = app().await else { return };
    let api = api(&app).await;
    let (rx, url) = Receiver::start().await;
    let (ep, secret) = endpoint(&api, &url, json!(["client.created"])).await;
    rx.trust(&secret);

    let client_id = new_client(&api, "Ada Lovelace").await;
    wait_for(&app, &rx, 1).await;
    let first = &rx.received()[0];
    verify(&secret, &first.headers, &first.body).expect("signed with the endpoint's secret");
    let body: Value = serde_json::from_str(&first.body).unwrap();
    assert_eq!(body["type"], "client.created");
    assert_eq!(body["data"]["id"], client_id.as_str());
    // webhook-id is the event id, the receiver's dedup key.
    let (_, events) = api.get("/api/v1/events?limit=200").await;
    let event = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "client.created" && e["data"]["id"] == client_id.as_str())
        .expect("the event")
        .clone();
    assert_eq!(first.headers["webhook-id"], event["id"].as_str().unwrap());

    // The secret is masked from now on.
    let (_, shown) = api.get(&format!("/api/v1/webhook-endpoints/{ep}")).await;
    assert!(!shown.to_string().contains(&secret), "{shown}");
    assert!(shown["secret_hint"].as_str().unwrap().starts_with("whsec_"));

    // Rotate: the next delivery carries both signatures, so receivers holding either
    // secret accept it.
    let (status, rotated) = api
        .post(
            &format!("/api/v1/webhook-endpoints/{ep}/rotate-secret"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new_secret = rotated["secret"].as_str().unwrap().to_string();
    assert_ne!(new_secret, secret);
    assert!(rotated["previous_secret_expires_at"].is_string());
    new_client(&api, "Grace Hopper").await;
    wait_for(&app, &rx, 2).await;
    let second = &rx.received()[1];
    assert_eq!(
        second.headers["webhook-signature"]
            .to_str()
            .unwrap()
            .split(' ')
            .count(),
        2
    );
    verify(&secret, &second.headers, &second.body).expect("old secret still verifies");
    verify(&new_secret, &second.headers, &second.body).expect("new secret verifies");
    assert!(
        verify(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            &second.headers,
            &second.body
        )
        .is_err()
    );

    // Other event types are filtered out; the log shows one attempt with the 200.
    // (The receiver answers before the attempt is written: wait for the log.)
    let types = settled(&api, &ep, 2).await;
    assert_eq!(types["data"].as_array().unwrap().len(), 2);
    let id = types["data"][0]["id"].as_str().unwrap();
    let (_, detail) = api.get(&format!("/api/v1/webhook-deliveries/{id}")).await;
    assert_eq!(detail["attempts"][0]["status_code"], 200);
    assert_eq!(detail["attempts"][0]["response_body"], "thanks");
    // One key per meaning: the count is `attempt_count`, `attempts` the list.
    assert_eq!(detail["attempt_count"], 1, "{detail}");
    assert_eq!(detail["attempts"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        detail["body"],
        first.body.as_str(),
        "the log holds the body exactly as sent"
    );
}

#[tokio::test]
async fn retries_follow_the_schedule_and_the_status_rules() {
    let Some(app) = app().await else { return };
    let api = api(&app).await;
    let (rx, url) = Receiver::start().await;
    rx.script(&[
        Reply::Status(500),
        Reply::WithHeader(429, "retry-after", "3600"),
        Reply::Hang(Duration::from_secs(3)),
        Reply::Status(301),
        Reply::Status(400),
    ]);
    let (ep, secret) = endpoint(&api, &url, json!([])).await;
    rx.trust(&secret);
    new_client(&api, "Retry Me").await;
    wait_for(&app, &rx, 1).await;

    let delivery = |n: usize| {
        let api = &api;
        let ep = ep.clone();
        async move {
            let mut d = Value::Null;
            for _ in 0..200 {
                d = only_delivery(api, &ep).await;
                if d["attempts"].as_array().is_some_and(|a| a.len() >= n)
                    && d["status"] == "pending"
                {
                    return d;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("attempt {n} never logged: {d}");
        }
    };
    // 500: retried after 5 s (+-20 %).
    let d = delivery(1).await;
    let id = d["id"].as_str().unwrap().to_string();
    assert_eq!(d["attempts"][0]["status_code"], 500);
    assert_eq!(d["attempts"][0]["error_class"], "http_status");
    let ahead = fast_forward(&app, &id).await;
    assert!(
        (3_500..=6_100).contains(&ahead.as_millis()),
        "5 s backoff, got {ahead:?}"
    );

    // 429 with Retry-After: 3600 outweighs the 5 min schedule: the receiver's wish counts.
    wait_for(&app, &rx, 2).await;
    let d = delivery(2).await;
    assert_eq!(d["attempts"][1]["status_code"], 429);
    // The receiver's hour holds the whole endpoint (moved past here by the test).
    let (_, shown) = api.get(&format!("/api/v1/webhook-endpoints/{ep}")).await;
    assert_eq!(shown["health"], "paused", "{shown}");
    app.db
        .execute_unprepared(&format!(
            "UPDATE webhook_endpoints SET paused_until = NULL WHERE id = '{ep}'"
        ))
        .await
        .expect("hour over");
    let ahead = fast_forward(&app, &id).await;
    assert!(
        (3_590_000..=3_600_000).contains(&ahead.as_millis()),
        "Retry-After 1 h, got {ahead:?}"
    );

    // A receiver that does not answer in time: a timeout.
    wait_for(&app, &rx, 3).await;
    let d = delivery(3).await;
    assert_eq!(d["attempts"][2]["error_class"], "timeout", "{d}");
    assert!(d["attempts"][2]["status_code"].is_null());
    let ahead = fast_forward(&app, &id).await;
    assert!(
        (1_400_000..=2_170_000).contains(&ahead.as_millis()),
        "30 min backoff, got {ahead:?}"
    );

    // A redirect is a failure and is not followed.
    wait_for(&app, &rx, 4).await;
    let d = delivery(4).await;
    assert_eq!(d["attempts"][3]["status_code"], 301);
    fast_forward(&app, &id).await;

    // A 400 keeps retrying (the receiver may be fixed)...
    wait_for(&app, &rx, 5).await;
    let d = delivery(5).await;
    assert_eq!(d["attempts"][4]["status_code"], 400);
    // ...but five failures in a row open the circuit: the endpoint is paused, and a
    // due delivery waits for the probe time without an attempt.
    let (_, shown) = api.get(&format!("/api/v1/webhook-endpoints/{ep}")).await;
    assert_eq!(shown["health"], "paused", "{shown}");
    fast_forward(&app, &id).await;
    let paused_for = fast_forward(&app, &id).await;
    assert!(
        paused_for <= Duration::from_secs(61),
        "deferred until the probe: {paused_for:?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        rx.received().len(),
        5,
        "no attempt while the circuit is open"
    );
    // Probe time (moved here by the test): the next attempt goes out and succeeds.
    app.db
        .execute_unprepared(&format!(
            "UPDATE webhook_endpoints SET paused_until = 0 WHERE id = '{ep}'"
        ))
        .await
        .expect("probe now");
    fast_forward(&app, &id).await;
    wait_for(&app, &rx, 6).await;
    app.eventually("success", Duration::from_secs(10), || {
        let api = &api;
        let ep = ep.clone();
        async move { only_delivery(api, &ep).await["status"] == "succeeded" }
    })
    .await;
    // Every attempt carried the same webhook-id.
    let ids: std::collections::HashSet<_> = rx
        .received()
        .iter()
        .map(|r| r.headers["webhook-id"].to_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 1);
    let (_, shown) = api.get(&format!("/api/v1/webhook-endpoints/{ep}")).await;
    assert_eq!(
        shown["health"], "healthy",
        "a success resets the failure count: {shown}"
    );
}

#[tokio::test]
async fn gone_disables_the_endpoint_and_enable_replays_what_was_missed() {
    let Some(app) = app().await else { return };
    let api = api(&app).await;
    let (rx, url) = Receiver::start().await;
    rx.script(&[Reply::Status(410)]);
    let (ep, _) = endpoint(&api, &url, json!(["client.created"])).await;
    new_client(&api, "Gone Girl").await;
    wait_for(&app, &rx, 1).await;
    app.eventually("endpoint disabled", Duration::from_secs(10), || {
        let api = &api;
        let ep = ep.clone();
        async move { api.get(&format!("/api/v1/webhook-endpoints/{ep}")).await.1["enabled"] == false }
    })
    .await;
    let (_, shown) = api.get(&format!("/api/v1/webhook-endpoints/{ep}")).await;
    assert_eq!(shown["health"], "disabled");
    assert!(shown["disabled_reason"].as_str().unwrap().contains("410"));
    let d = only_delivery(&api, &ep).await;
    assert_eq!(d["status"], "failed");
    assert_eq!(
        d["attempts"].as_array().unwrap().len(),
        1,
        "410 is not retried"
    );

    // While disabled, events are not sent...
    new_client(&api, "Missed One").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(rx.received().len(), 1);
    // ...and one click brings back both the failed and the missed event.
    let (status, replay) = api
        .post(
            &format!("/api/v1/webhook-endpoints/{ep}/enable"),
            json!({ "replay": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{replay}");
    assert_eq!(replay["requeued"], 1, "{replay}");
    assert_eq!(replay["recovered"], 1, "{replay}");
    wait_for(&app, &rx, 3).await;
    let names: Vec<String> = rx.received()[1..]
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(&r.body).unwrap()["data"]["name"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(
        names.contains(&"Gone Girl".to_string()) && names.contains(&"Missed One".to_string()),
        "{names:?}"
    );
}

#[tokio::test]
async fn private_addresses_are_refused_unless_allowed() {
    let Some(app) = TestApp::spawn_with(|c| c.webhook_timeout_seconds = 1).await else {
        return;
    };
    let api = api(&app).await;
    let (rx, url) = Receiver::start().await;
    // A literal private address is refused when saved, naming the field.
    let (status, problem) = api
        .post("/api/v1/webhook-endpoints", json!({ "url": url }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["field"], "url");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("HITCH_OUTBOUND_ALLOW"),
        "{problem}"
    );
    for bad in [
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/x",
        "http://0x7f000001/x",
        "ftp://example.com/",
    ] {
        let (status, p) = api
            .post("/api/v1/webhook-endpoints", json!({ "url": bad }))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {p}");
    }
    // A hostname that resolves to loopback passes the text check but is stopped when
    // the connection is made; the receiver never hears of it.
    let sneaky = url.replace("127.0.0.1", "localhost");
    let (ep, _) = endpoint(&api, &sneaky, json!([])).await;
    new_client(&api, "Rebinding").await;
    let mut d = Value::Null;
    for _ in 0..200 {
        d = only_delivery(&api, &ep).await;
        if d["status"] == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(d["status"], "failed", "{d}");
    assert_eq!(d["attempts"][0]["error_class"], "blocked", "{d}");
    assert!(rx.received().is_empty());
}

#[tokio::test]
async fn zapier_rest_hooks_subscribe_receive_flat_payloads_and_unsubscribe_on_410() {
    let Some(app) = app().await else { return };
    let api = api(&app).await;
    let (rx, url) = Receiver::start().await;

    let (status, sample) = api.get("/api/v1/hooks/samples/client.created").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sample[0]["event_type"], "client.created");
    assert!(
        sample[0]["id"].is_string() && sample[0]["event_id"].is_string(),
        "flat keys: {sample}"
    );
    assert_eq!(
        api.get("/api/v1/hooks/samples/client.exploded").await.0,
        StatusCode::NOT_FOUND
    );
    let (status, p) = api
        .post(
            "/api/v1/hooks",
            json!({ "target_url": url, "event": "nope" }),
        )
        .await;
    assert_eq!(
        (status, p["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("event"))
    );

    let (status, sub) = api
        .post(
            "/api/v1/hooks",
            json!({ "target_url": url, "event": "client.created" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sub}");
    let id = sub["id"].as_str().unwrap().to_string();
    new_client(&api, "Zap Zap").await;
    wait_for(&app, &rx, 1).await;
    let body: Value = serde_json::from_str(&rx.received()[0].body).unwrap();
    assert_eq!(body["event_type"], "client.created");
    assert_eq!(body["name"], "Zap Zap");

    // Its first fast answer raised its deliveries at once, which is stored per target.
    let paced = format!("SELECT COUNT(*) AS n FROM job_key_limits WHERE key = 'webhook:{id}'");
    app.eventually("pace stored", Duration::from_secs(10), || {
        let (app, paced) = (&app, paced.clone());
        async move { app.scalar(&paced).await == 1 }
    })
    .await;

    // The target answers 410: the subscription is gone.
    rx.script(&[Reply::Status(410)]);
    new_client(&api, "Zap Two").await;
    wait_for(&app, &rx, 2).await;
    app.eventually("unsubscribed", Duration::from_secs(10), || {
        let api = &api;
        let id = id.clone();
        async move {
            api.get(&format!("/api/v1/webhook-endpoints/{id}")).await.0 == StatusCode::NOT_FOUND
        }
    })
    .await;
    assert_eq!(app.scalar(&paced).await, 0, "its pace goes with it");
    let (status, _, _) = api
        .call(Method::DELETE, &format!("/api/v1/hooks/{id}"), None, &[])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Explicit unsubscribe.
    let (_, sub) = api
        .post(
            "/api/v1/hooks",
            json!({ "target_url": url, "event": "client.updated" }),
        )
        .await;
    let id = sub["id"].as_str().unwrap();
    let (status, _, _) = api
        .call(Method::DELETE, &format!("/api/v1/hooks/{id}"), None, &[])
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn an_event_without_subscribers_writes_no_delivery() {
    let Some(app) = app().await else { return };
    let api = api(&app).await;
    new_client(&api, "Nobody Listens").await;
    assert_eq!(app.count("webhook_deliveries").await, 0);
    assert_eq!(
        app.scalar("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'webhook.deliver'")
            .await,
        0
    );
}

#[tokio::test]
async fn an_endpoint_failing_for_five_days_is_disabled_and_admins_are_told() {
    let Some(app) = app().await else { return };
    let api = api(&app).await;
    let (rx, url) = Receiver::start().await;
    let (ep, _) = endpoint(&api, &url, json!([])).await;
    app.sign_in().await;
    let banner = "Webhook deliveries stopped";
    assert!(
        !app.page("/bookings").await.contains(banner),
        "no banner while it works"
    );
    // It has been failing for six days (time set by the test); one more failure ends it.
    let six_days_ago = server::platform::now_ms() - 6 * 86_400_000;
    app.db
        .execute_unprepared(&format!(
            "UPDATE webhook_endpoints SET failing_since = {six_days_ago}, consecutive_failures = 1 WHERE id = '{ep}'"
        ))
        .await
        .expect("backdate");
    rx.script(&[Reply::Status(503)]);
    new_client(&api, "Last Straw").await;
    wait_for(&app, &rx, 1).await;
    app.eventually("endpoint disabled", Duration::from_secs(10), || {
        let api = &api;
        let ep = ep.clone();
        async move { api.get(&format!("/api/v1/webhook-endpoints/{ep}")).await.1["enabled"] == false }
    })
    .await;
    let (_, shown) = api.get(&format!("/api/v1/webhook-endpoints/{ep}")).await;
    assert!(
        shown["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("5 days"),
        "{shown}"
    );
    // Every dashboard page tells admins, with a link to the endpoint.
    let page = app.page("/bookings").await;
    assert!(page.contains(banner), "{page}");
    assert!(page.contains(&format!("href=\"/webhooks/{ep}\"")), "{page}");
    let user = server::services::auth::load_user(&app.db, &demo_owner(&app).await)
        .await
        .unwrap()
        .unwrap();
    // The webhooks consumer answers the banner's question; other organizations see nothing.
    let alerts = app.platform.outbox.alerts(&user.org_id).await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].href, format!("/webhooks/{ep}"));
    assert!(
        app.platform
            .outbox
            .alerts("org_someone_else")
            .await
            .is_empty()
    );
    // The pending retry is not sent while disabled.
    let d = only_delivery(&api, &ep).await;
    let id = d["id"].as_str().unwrap().to_string();
    if d["status"] == "pending" {
        fast_forward(&app, &id).await;
    }
    app.eventually("delivery closed", Duration::from_secs(10), || {
        let api = &api;
        let ep = ep.clone();
        async move { only_delivery(api, &ep).await["status"] == "failed" }
    })
    .await;
    assert_eq!(rx.received().len(), 1);
}

async fn demo_owner(app: &TestApp) -> String {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    server::db::entities::user::Entity::find()
        .filter(server::db::entities::user::Column::Email.eq(server::services::demo::DEMO_EMAIL))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .id
}

#[tokio::test]
async fn the_rate_limit_spaces_deliveries_and_big_answers_are_cut_at_16_kib() {
    let Some(app) = app().await else { return };
    let api = api(&app).await;
    let (rx, url) = Receiver::start().await;
    rx.script(&[Reply::Big(20_000)]);
    let (status, ep) = api
        .post(
            "/api/v1/webhook-endpoints",
            json!({ "url": url, "event_types": ["client.created"], "rate_per_second": 2 }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ep}");
    let ep = ep["id"].as_str().unwrap().to_string();
    for i in 0..6 {
        new_client(&api, &format!("Paced {i}")).await;
    }
    wait_for(&app, &rx, 6).await;
    // Two per second (bursts of two): six deliveries cannot all go out in under 1.5 s.
    let got = rx.received();
    let span = got[5].at - got[0].at;
    assert!(
        span >= Duration::from_millis(1500),
        "six deliveries in {span:?} at 2/s"
    );

    // Whichever delivery went first got the 20,000-byte answer; the log keeps 16 KiB.
    let list = settled(&api, &ep, 6).await;
    let mut lengths = Vec::new();
    for d in list["data"].as_array().unwrap() {
        let id = d["id"].as_str().unwrap();
        let (_, detail) = api.get(&format!("/api/v1/webhook-deliveries/{id}")).await;
        lengths.push(
            detail["attempts"][0]["response_body"]
                .as_str()
                .unwrap()
                .len(),
        );
    }
    lengths.sort_unstable();
    assert_eq!(
        lengths,
        [6, 6, 6, 6, 6, 16 * 1024],
        "five `thanks` and one cut answer"
    );
}

/// Two servers on one PostgreSQL share an endpoint's rate: at 2 per second (bursts of
/// two), ten deliveries take four seconds whichever server sends them; each server
/// counting alone would let them out in about two.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_database_send_at_the_endpoints_rate_once() {
    let Some(app) = app().await else { return };
    if !app.is_postgres() {
        eprintln!("several servers share one PostgreSQL only");
        return;
    }
    let (_second, _) = app
        .second_server(&[("HITCH_OUTBOUND_ALLOW", "127.0.0.0/8")])
        .await;
    let api = api(&app).await;
    let (rx, url) = Receiver::start().await;
    let (status, ep) = api
        .post(
            "/api/v1/webhook-endpoints",
            json!({ "url": url, "event_types": ["client.created"], "rate_per_second": 2 }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ep}");
    for i in 0..10 {
        new_client(&api, &format!("Shared pace {i}")).await;
    }
    wait_for(&app, &rx, 10).await;
    let got = rx.received();
    let span = got[9].at - got[0].at;
    assert!(
        span >= Duration::from_millis(3500),
        "ten deliveries in {span:?} at 2/s over two servers"
    );
}

/// The endpoint's succeeded deliveries once there are `n` of them.
async fn settled(api: &Api<'_>, ep: &str, n: usize) -> Value {
    let mut list = Value::Null;
    for _ in 0..200 {
        list = api
            .get(&format!(
                "/api/v1/webhook-deliveries?endpoint_id={ep}&status=succeeded"
            ))
            .await
            .1;
        if list["data"].as_array().is_some_and(|d| d.len() >= n) {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("expected {n} succeeded deliveries: {list}");
}

#[tokio::test]
async fn stats_and_the_csv_export_reflect_the_log() {
    let Some(app) = app().await else { return };
    let api = api(&app).await;
    let (rx, url) = Receiver::start().await;
    rx.script(&[Reply::Status(500)]);
    let (ep, _) = endpoint(&api, &url, json!(["client.created"])).await;
    new_client(&api, "Counted Once").await;
    new_client(&api, "Counted Twice").await;
    wait_for(&app, &rx, 2).await;
    app.eventually("both logged", Duration::from_secs(10), || {
        let app = &app;
        async move { app.count("webhook_attempts").await == 2 }
    })
    .await;
    let (status, stats) = api
        .get(&format!("/api/v1/webhook-endpoints/{ep}/stats?days=7"))
        .await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    assert_eq!(stats["attempts"], 2);
    assert_eq!(stats["succeeded"], 1);
    assert_eq!(stats["failed"], 1);
    assert_eq!(stats["success_rate"], 0.5);
    assert!(stats["p95_ms"].is_number());
    assert_eq!(stats["days"].as_array().unwrap().len(), 7);
    for days in ["0", "91", "2147483648"] {
        let (status, body) = api
            .get(&format!("/api/v1/webhook-endpoints/{ep}/stats?days={days}"))
            .await;
        assert!(
            matches!(status.as_u16(), 400 | 422),
            "days={days}: {status} {body}"
        );
    }
    assert_eq!(
        stats["days"][6]["attempts"], 2,
        "today is the last day: {stats}"
    );

    // The CSV needs a dashboard session.
    let anonymous = app
        .client
        .get(format!("{}/webhooks/deliveries.csv", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .post(
            "/rpc/auth/login",
            &[
                ("email", server::services::demo::DEMO_EMAIL),
                ("password", server::services::demo::DEMO_PASSWORD),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let res = app
        .client
        .get(format!(
            "{}/webhooks/deliveries.csv?endpoint_id={ep}&status=succeeded",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = res.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 1, "{text}");
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    assert_eq!(&rows[0][col("status")], "succeeded");
    assert_eq!(&rows[0][col("event_type")], "client.created");
    assert_eq!(&rows[0][col("endpoint_url")], url.as_str());
}

#[tokio::test]
async fn custom_headers_are_sent_but_stored_encrypted_and_shown_masked() {
    let Some(app) = app().await else { return };
    let api = api(&app).await;
    let (rx, url) = Receiver::start().await;
    let token = "Bearer receiver-token-5f1c9a7e2d";
    let (status, created) = api
        .post(
            "/api/v1/webhook-endpoints",
            json!({ "url": url, "event_types": ["client.created"], "headers": { "Authorization": token } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    rx.trust(created["secret"].as_str().unwrap());
    let ep = created["id"].as_str().unwrap().to_string();
    let masked = created["headers"]["Authorization"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!created.to_string().contains("receiver-token"), "{created}");
    assert!(masked.contains("..."), "{masked}");

    new_client(&api, "Header Check").await;
    wait_for(&app, &rx, 1).await;
    assert_eq!(rx.received()[0].headers["authorization"], token);
    // Not in the endpoint row, not in any secret's ciphertext, not in the attempt log.
    for sql in [
        "SELECT COUNT(*) AS n FROM webhook_endpoints WHERE headers LIKE '%receiver-token%'",
        "SELECT COUNT(*) AS n FROM secrets WHERE ciphertext LIKE '%receiver-token%'",
        "SELECT COUNT(*) AS n FROM webhook_attempts WHERE request_headers LIKE '%receiver-token%'",
    ] {
        assert_eq!(app.scalar(sql).await, 0, "{sql}");
    }
    // Sending the masked value back keeps the stored one.
    let (status, _, patched) = api
        .call(
            Method::PATCH,
            &format!("/api/v1/webhook-endpoints/{ep}"),
            Some(json!({ "headers": { "Authorization": masked }, "description": "renamed" })),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    new_client(&api, "Header Check Two").await;
    wait_for(&app, &rx, 2).await;
    assert_eq!(rx.received()[1].headers["authorization"], token);

    // A test event through the API is signed like any other.
    let (status, test) = api
        .post(&format!("/api/v1/webhook-endpoints/{ep}/test"), json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{test}");
    assert_eq!(test["event_type"], "webhook.test");
    wait_for(&app, &rx, 3).await;
    assert!(rx.received()[2].body.contains("webhook.test"));
    assert!(rx.unverified().is_empty(), "{:?}", rx.unverified());
}

#[tokio::test]
async fn production_mode_requires_https() {
    let Some(app) =
        TestApp::spawn_with(|c| c.environment = server::config::Environment::Production).await
    else {
        return;
    };
    let api = api(&app).await;
    let (status, p) = api
        .post(
            "/api/v1/webhook-endpoints",
            json!({ "url": "http://hooks.example.com/x" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(p["field"], "url");
    assert!(p["detail"].as_str().unwrap().contains("https://"), "{p}");
    let (status, p) = api
        .post(
            "/api/v1/webhook-endpoints",
            json!({ "url": "https://hooks.example.com/x" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
}
