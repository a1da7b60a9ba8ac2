//! How many deliveries go to an endpoint at once: cut on 429, slowing answers and 5xx,
//! grown again on fast answers; hanging endpoints do not hold up a healthy one; a
//! killed server's deliveries are taken over within the lease.
#![allow(clippy::unwrap_used)]
use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::api::{Api, api};
use crate::support::TestApp;
use crate::webhooks::{Receiver, Reply, endpoint, new_client};

async fn pace(api: &Api<'_>, ep: &str) -> (i64, String) {
    let (_, e) = api.get(&format!("/api/v1/webhook-endpoints/{ep}")).await;
    (
        e["in_flight_limit"].as_i64().unwrap(),
        e["eased_off_reason"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

/// Waits until the endpoint's last cut names `reason`; returns the limit then.
async fn cut_for(api: &Api<'_>, ep: &str, reason: &str) -> i64 {
    let mut seen = (0, String::new());
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        seen = pace(api, ep).await;
        if seen.1.starts_with(reason) {
            return seen.0;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no cut for {reason:?}; last seen {seen:?}");
}

async fn received(app: &TestApp, what: &str, rx: &Receiver, n: usize, within: Duration) {
    app.eventually(what, within, || {
        let got = rx.received().len();
        async move { got >= n }
    })
    .await;
}

#[tokio::test]
async fn a_429_then_slow_then_failing_receiver_backs_off_and_recovers() {
    let Some(app) = TestApp::spawn_with(|c| {
        c.outbound_allow = "127.0.0.0/8".into();
        c.api_rate_per_second = 10_000;
    })
    .await
    else {
        return;
    };
    let api = api(&app).await;
    let (rx, url) = Receiver::start().await;
    let (ep, _) = endpoint(&api, &url, json!(["client.created"])).await;
    let (start, reason) = pace(&api, &ep).await;
    assert_eq!(start, 16, "a new endpoint starts generous");
    assert_eq!(reason, "", "and has never eased off");

    // Fast answers first: the pace learns what fast is for this receiver.
    for i in 0..3 {
        new_client(&api, &format!("Fast {i}")).await;
    }
    received(&app, "the fast answers", &rx, 3, Duration::from_secs(20)).await;

    // 429 with Retry-After: halved, and the whole endpoint waits a second.
    rx.script(&[Reply::WithHeader(429, "retry-after", "1")]);
    new_client(&api, "Throttled").await;
    let after_429 = cut_for(&api, &ep, "429 Too Many Requests (Retry-After: 1)").await;
    assert!(after_429 < start, "{after_429} < {start}");

    // Answers slow from milliseconds to most of a second: eased off again.
    rx.script(&vec![Reply::Hang(Duration::from_millis(700)); 4]);
    for i in 0..4 {
        new_client(&api, &format!("Slow {i}")).await;
    }
    let after_slow = cut_for(&api, &ep, "answers slowed to").await;
    assert!(after_slow < after_429, "{after_slow} < {after_429}");

    // Server errors (a cut is at most once a second, so let one pass first).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    rx.script(&[Reply::Status(500), Reply::Status(500)]);
    new_client(&api, "Broken 1").await;
    new_client(&api, "Broken 2").await;
    let after_500 = cut_for(&api, &ep, "HTTP 500 from the receiver").await;
    assert!(after_500 < after_slow, "{after_500} < {after_slow}");

    // Fast again: the limit grows back.
    for i in 0..40 {
        new_client(&api, &format!("Recovered {i}")).await;
    }
    app.eventually("the limit to grow back", Duration::from_secs(20), || {
        let api = &api;
        let ep = ep.clone();
        async move { pace(api, &ep).await.0 > after_500 }
    })
    .await;

    // The attempt log shows why: the 429, the slow answers, the 500s.
    let (_, list) = api
        .get(&format!(
            "/api/v1/webhook-deliveries?endpoint_id={ep}&limit=100"
        ))
        .await;
    let mut codes = Vec::new();
    let mut slow = 0;
    for d in list["data"].as_array().unwrap() {
        let id = d["id"].as_str().unwrap();
        let (_, detail) = api.get(&format!("/api/v1/webhook-deliveries/{id}")).await;
        let attempts = detail["attempts"].as_array();
        for a in attempts.unwrap_or_else(|| panic!("{detail}")) {
            codes.push(a["status_code"].as_i64().unwrap_or(0));
            if a["duration_ms"].as_i64().unwrap_or(0) >= 650 {
                slow += 1;
            }
        }
    }
    assert_eq!(codes.iter().filter(|c| **c == 429).count(), 1, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 500).count(), 2, "{codes:?}");
    assert_eq!(slow, 4, "four slow answers logged with their durations");
}

#[tokio::test]
async fn fifty_hanging_endpoints_do_not_hold_up_a_healthy_one() {
    // Receivers get 30 s, so the hanging ones keep their requests in flight for the test.
    let Some(app) = TestApp::spawn_with(|c| {
        c.outbound_allow = "127.0.0.0/8".into();
        c.webhook_timeout_seconds = 30;
        c.api_rate_per_second = 10_000;
    })
    .await
    else {
        return;
    };
    let api = api(&app).await;
    let (hanging, hanging_url) = Receiver::start().await;
    let (healthy, healthy_url) = Receiver::start().await;
    hanging.script(&vec![Reply::Hang(Duration::from_secs(25)); 1000]);
    for i in 0..50 {
        endpoint(
            &api,
            &format!("{hanging_url}?n={i}"),
            json!(["client.created"]),
        )
        .await;
    }
    endpoint(&api, &healthy_url, json!(["client.created"])).await;
    for i in 0..10 {
        new_client(&api, &format!("Guest {i}")).await;
    }
    // 500 requests hang, and the healthy endpoint still gets all ten meanwhile.
    received(
        &app,
        "the healthy endpoint served",
        &healthy,
        10,
        Duration::from_secs(10),
    )
    .await;
    received(
        &app,
        "every hanging endpoint tried",
        &hanging,
        500,
        Duration::from_secs(10),
    )
    .await;
    // Other work still runs while 500 deliveries hang.
    let (status, _) = api
        .post("/api/v1/clients", json!({ "name": "Still answering" }))
        .await;
    assert!(status.is_success());
    received(
        &app,
        "a delivery of the new event",
        &healthy,
        11,
        Duration::from_secs(5),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_servers_deliveries_finish_within_the_lease() {
    let Some(app) = TestApp::spawn_with(|c| {
        c.jobs_enabled = false;
        c.outbound_allow = "127.0.0.0/8".into();
        c.api_rate_per_second = 10_000;
        // This process writes the deliveries, so its timeout sizes their leases.
        c.webhook_timeout_seconds = 5;
    })
    .await
    else {
        return;
    };
    if !app.is_postgres() {
        eprintln!("two-server test runs on PostgreSQL only");
        return;
    }
    // A 5 s request timeout makes a 10 s job and a 15 s lease.
    let env = [
        ("HITCH_OUTBOUND_ALLOW", "127.0.0.0/8"),
        ("HITCH_WEBHOOK_TIMEOUT_SECONDS", "5"),
    ];
    let lease = Duration::from_secs(15);
    let api = api(&app).await;
    let (rx, url) = Receiver::start().await;
    // Each answer takes a little while, so deliveries are in flight at the kill.
    rx.script(&vec![Reply::Hang(Duration::from_millis(100)); 10_000]);
    endpoint(&api, &url, json!(["client.created"])).await;
    let (mut a, _) = app.second_server(&env).await;
    let (_b, _) = app.second_server(&env).await;
    let total = 300;
    for i in 0..total {
        new_client(&api, &format!("Burst {i}")).await;
    }
    received(&app, "the burst to start", &rx, 60, Duration::from_secs(20)).await;
    a.kill9();
    let killed_at = Instant::now();

    let distinct = |rx: &Receiver| {
        let mut seen: HashMap<String, usize> = HashMap::new();
        for r in rx.received() {
            let id = r.headers["webhook-id"].to_str().unwrap().to_string();
            *seen.entry(id).or_default() += 1;
        }
        seen
    };
    // Complete means recorded as delivered, not only received: the killed server's
    // in-flight deliveries are sent again once their leases run out.
    app.eventually(
        "every delivery done",
        lease + Duration::from_secs(30),
        || async {
            app.scalar("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE status = 'succeeded'")
                .await
                >= total as i64
        },
    )
    .await;
    let took = killed_at.elapsed();
    // The lease, one idle poll (1 s), and room for a busy machine.
    assert!(
        took <= lease + Duration::from_secs(5),
        "the last delivery came {took:?} after the kill"
    );
    // Sent twice only if the killed server had it in flight: its job lost an attempt.
    let twice: Vec<String> = distinct(&rx)
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(id, _)| id)
        .collect();
    assert!(twice.len() <= 16, "at most the in-flight limit: {twice:?}");
    for event in &twice {
        let lost = app
            .scalar(&format!(
                "SELECT COUNT(*) AS n FROM job_attempts a JOIN webhook_deliveries d ON d.job_id = a.job_id
                 WHERE d.event_id = '{event}' AND a.outcome = 'lost'"
            ))
            .await;
        assert_eq!(lost, 1, "{event} was sent twice without a lost attempt");
    }
}
