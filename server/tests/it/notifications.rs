//! Notifications against local fakes that follow the providers' published contracts:
//! Slack (Block Kit JSON), Discord (`?wait=true`, `allowed_mentions`), Twilio (form
//! fields, basic auth). A failing channel never fails the booking behind it.
// A panic is how these helpers report a broken fake or response.
#![allow(clippy::unwrap_used)]
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode as AxStatus};
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{TestApp, booking_form, future_date};

#[derive(Clone, Debug)]
struct Got {
    path: String,
    headers: HeaderMap,
    body: String,
    at: std::time::Instant,
}

/// One fake for every provider: `/{provider}/{status}[/{status}...]/...`: the n-th
/// request to a path gets the n-th status (the last one from then on); a `/slow/`
/// segment makes each answer take 300 ms. Discord's 200
/// carries a message object, Twilio's 201 a message SID; a 429 says when to come back
/// the way each provider does.
#[derive(Clone, Default)]
struct Fake {
    got: Arc<Mutex<Vec<Got>>>,
}

impl Fake {
    async fn start() -> (Fake, String) {
        let fake = Fake::default();
        let state = fake.clone();
        let handler = move |Path(rest): Path<String>, headers: HeaderMap, body: Bytes| {
            let state = state.clone();
            async move {
                let codes: Vec<u16> = rest.split('/').filter_map(|s| s.parse().ok()).collect();
                let seen = {
                    let mut got = state.got.lock().unwrap();
                    let seen = got.iter().filter(|g| g.path == rest).count();
                    got.push(Got {
                        path: rest.clone(),
                        headers,
                        body: String::from_utf8_lossy(&body).into_owned(),
                        at: std::time::Instant::now(),
                    });
                    seen
                };
                let code = codes.get(seen).or(codes.last()).copied().unwrap_or(200);
                if rest.contains("/slow/") {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                let status = AxStatus::from_u16(code).unwrap();
                let mut reply = HeaderMap::new();
                if code == 429 {
                    reply.insert("retry-after", "1".parse().unwrap());
                    reply.insert("x-ratelimit-remaining", "0".parse().unwrap());
                    reply.insert("x-ratelimit-reset-after", "1".parse().unwrap());
                }
                let body = match (rest.split('/').next(), code) {
                    (Some("slack"), 200) => "ok".to_string(),
                    (Some("slack"), 404) => "no_service".to_string(),
                    (Some("discord"), 200) => r#"{"id":"1","type":0}"#.to_string(),
                    (Some("discord"), 404) => {
                        r#"{"message":"Unknown Webhook","code":10015}"#.to_string()
                    }
                    (Some("twilio"), 201) => r#"{"sid":"SM0123","status":"queued"}"#.to_string(),
                    (Some("discord"), 429) => {
                        r#"{"message":"You are being rate limited.","retry_after":1.0,"global":false}"#.to_string()
                    }
                    (_, 429) => "rate_limited".to_string(),
                    _ => "internal_error".to_string(),
                };
                (status, reply, body)
            }
        };
        let app = axum::Router::new().route("/{*rest}", axum::routing::post(handler));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (fake, url)
    }

    fn requests(&self, prefix: &str) -> Vec<Got> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|g| g.path.starts_with(prefix))
            .cloned()
            .collect()
    }
}

async fn app(twilio: Option<&str>) -> Option<TestApp> {
    let twilio = twilio.map(|t| format!("{t}/twilio/201"));
    let app = TestApp::spawn_with(move |c| {
        c.outbound_allow = "127.0.0.0/8".into();
        if let Some(t) = twilio {
            c.twilio_api_base = t;
        }
    })
    .await?;
    app.sign_in().await;
    Some(app)
}

async fn channel(app: &TestApp, fields: &[(&str, &str)]) -> Value {
    let (status, body) = app.post("/rpc/notifications/channels/create", fields).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn book(app: &TestApp, days: i64) -> Value {
    let resource = app.resource("Terrace", 8).await;
    let client = app.a_client().await;
    let day = future_date(days);
    let (status, body) = app
        .post(
            "/rpc/bookings/create",
            &booking_form(&resource, &client, &day, "19:00", "21:00", "4"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn log(app: &TestApp) -> Vec<Value> {
    let (status, body) = app
        .post("/rpc/notifications/log", &[("filter[page]", "1")])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_booking_reaches_slack_as_block_kit_and_the_log_shows_it() {
    let (fake, url) = Fake::start().await;
    let Some(app) = app(None).await else { return };
    let hook = format!("{url}/slack/200");
    channel(
        &app,
        &[
            ("input[kind]", "slack"),
            ("input[name]", "Front desk"),
            ("input[secret]", &hook),
        ],
    )
    .await;
    let booking = book(&app, 3).await;
    app.eventually("the Slack message", Duration::from_secs(15), || async {
        !fake.requests("slack").is_empty()
    })
    .await;
    let got = &fake.requests("slack")[0];
    assert_eq!(got.headers["content-type"], "application/json");
    let msg: Value = serde_json::from_str(&got.body).unwrap();
    let blocks = msg["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    assert!(
        blocks[0]["text"]["text"]
            .as_str()
            .unwrap()
            .starts_with("New booking: "),
        "{msg}"
    );
    assert_eq!(blocks.last().unwrap()["type"], "actions");
    let link = blocks.last().unwrap()["elements"][0]["url"]
        .as_str()
        .unwrap();
    assert!(
        link.ends_with(&format!("/bookings/{}", booking["id"].as_str().unwrap())),
        "{link}"
    );
    app.eventually("the log to say sent", Duration::from_secs(10), || async {
        log(&app)
            .await
            .iter()
            .any(|n| n["status"] == "sent" && n["event_type"] == "booking.created")
    })
    .await;
    let csv = app.get("/notifications/log.csv").await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    assert!(
        csv.starts_with("id,created,channel,event_type,recipient,status"),
        "{csv}"
    );
    assert!(
        csv.contains(",Front desk,booking.created,team,sent,"),
        "{csv}"
    );
    let stats = app
        .get("/notifications/stats.csv")
        .await
        .text()
        .await
        .unwrap();
    assert!(stats.contains(",Front desk,1,0,0"), "{stats}");
    // The webhook URL is a credential: masked wherever the channel is shown.
    let (_, channels) = app.post("/rpc/notifications/channels", &[]).await;
    assert!(!channels.to_string().contains(&hook), "{channels}");
}

#[tokio::test]
async fn a_failing_channel_never_fails_the_booking_and_is_retried() {
    let (fake, url) = Fake::start().await;
    let Some(app) = app(None).await else { return };
    channel(
        &app,
        &[
            ("input[kind]", "slack"),
            ("input[name]", "Flaky"),
            ("input[secret]", &format!("{url}/slack/500")),
        ],
    )
    .await;
    let started = std::time::Instant::now();
    let booking = book(&app, 4).await;
    assert!(booking["id"].as_str().is_some());
    assert!(started.elapsed() < Duration::from_secs(5));
    app.eventually("a failed send logged", Duration::from_secs(15), || async {
        log(&app)
            .await
            .iter()
            .any(|n| n["status"] == "pending" && n["attempts"] == 1)
    })
    .await;
    let row = log(&app)
        .await
        .into_iter()
        .find(|n| n["event_type"] == "booking.created")
        .unwrap();
    assert!(
        row["detail"]
            .as_str()
            .unwrap()
            .contains("Slack answered 500"),
        "{row}"
    );
    // The URL never appears in what is stored and shown.
    assert!(!row.to_string().contains(&url), "{row}");
    assert_eq!(fake.requests("slack").len(), 1);
    let (_, channels) = app.post("/rpc/notifications/channels", &[]).await;
    assert_eq!(channels[0]["health"], "degraded", "{channels}");
}

#[tokio::test]
async fn discord_404_breaks_the_channel_emits_an_event_and_raises_the_banner() {
    let (fake, url) = Fake::start().await;
    let Some(app) = app(None).await else { return };
    channel(
        &app,
        &[
            ("input[kind]", "discord"),
            ("input[name]", "Ops"),
            ("input[secret]", &format!("{url}/discord/404")),
        ],
    )
    .await;
    book(&app, 5).await;
    app.eventually("the channel broken", Duration::from_secs(15), || async {
        app.scalar("SELECT COUNT(*) AS n FROM events WHERE event_type = 'channel.broken'")
            .await
            == 1
    })
    .await;
    let sent = fake.requests("discord");
    assert_eq!(sent.len(), 1, "Discord is not asked again after a 404");
    let msg: Value = serde_json::from_str(&sent[0].body).unwrap();
    assert_eq!(msg["allowed_mentions"]["parse"], serde_json::json!([]));
    assert_eq!(sent[0].path, "discord/404");
    let (_, channels) = app.post("/rpc/notifications/channels", &[]).await;
    assert_eq!(channels[0]["health"], "broken", "{channels}");
    let (_, alerts) = app.post("/rpc/alerts", &[]).await;
    assert!(
        alerts.to_string().contains("Notification channel broken"),
        "{alerts}"
    );
}

#[tokio::test]
async fn a_template_with_an_unknown_variable_is_refused_with_its_line_and_column() {
    let Some(app) = app(None).await else { return };
    let (status, body) = app
        .post(
            "/rpc/notifications/template/save",
            &[
                ("input[event_type]", "booking.created"),
                ("input[family]", "email"),
                ("input[subject]", "Hello"),
                (
                    "input[body]",
                    "Dear {{ guest.name }},\n\nSee you {{ booking.strats_at|datetime }}",
                ),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let text = body.to_string();
    assert!(text.contains("line 3, column 12"), "{text}");
    assert!(text.contains("booking.strats_at"), "{text}");
    assert!(text.contains("did you mean `booking.starts_at`?"), "{text}");
    assert_eq!(app.count("notification_templates").await, 0);
}

#[tokio::test]
async fn twilio_gets_form_fields_with_basic_auth_and_reminders_follow_the_booking() {
    let (fake, url) = Fake::start().await;
    let Some(app) = app(Some(&url)).await else {
        return;
    };
    let sid = format!("AC{}", "0123456789abcdef".repeat(2));
    let c = channel(
        &app,
        &[
            ("input[kind]", "twilio"),
            ("input[name]", "SMS"),
            ("input[secret]", "twilio-auth-token"),
            ("input[account_sid]", &sid),
            ("input[from]", "+14155550100"),
            ("input[team_to]", "+33612345678"),
        ],
    )
    .await;
    let (status, test) = app
        .post(
            "/rpc/notifications/channels/test",
            &[("id", c["id"].as_str().unwrap())],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{test}");
    assert_eq!(test["status"], "sent", "{test}");
    let got = &fake.requests("twilio")[0];
    assert_eq!(
        got.path,
        format!("twilio/201/2010-04-01/Accounts/{sid}/Messages.json")
    );
    assert_eq!(
        got.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    let form: HashMap<String, String> = url::form_urlencoded::parse(got.body.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(form["To"], "+33612345678");
    assert_eq!(form["From"], "+14155550100");
    assert!(!form["Body"].is_empty());
    use base64::Engine;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{sid}:twilio-auth-token"));
    assert_eq!(
        got.headers["authorization"],
        format!("Basic {auth}").as_str()
    );
    assert_eq!(test["recipient"], "+33…78");

    // The SMS channel's default rule: a reminder 3 hours before, to the guest.
    let booking = book(&app, 3).await;
    let id = booking["id"].as_str().unwrap();
    let pending = format!(
        "SELECT COUNT(*) AS n FROM notifications WHERE entity_id = '{id}' AND event_type = 'booking.reminder' AND status = 'pending'"
    );
    assert_eq!(app.scalar(&pending).await, 1);
    let (status, body) = app
        .post(
            "/rpc/bookings/cancel",
            &[("id", id), ("revision", "1"), ("reason", "")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(app.scalar(&pending).await, 0);
    let skipped = format!(
        "SELECT COUNT(*) AS n FROM notifications WHERE entity_id = '{id}' AND event_type = 'booking.reminder' AND status = 'skipped'"
    );
    assert_eq!(app.scalar(&skipped).await, 1);
}

/// The real SMTP server of `end2end/tools/smtp-peer.mjs` (npm `smtp-server`), which
/// parses each message with `mailparser` and `ical.js` and prints it as JSON.
struct SmtpPeer {
    child: std::process::Child,
    port: u16,
    mail: Arc<Mutex<Vec<Value>>>,
}

impl SmtpPeer {
    fn start(user: &str, password: &str) -> SmtpPeer {
        Self::start_with(user, password, &[])
    }

    fn start_with(user: &str, password: &str, env: &[(&str, String)]) -> SmtpPeer {
        use std::io::BufRead;
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let mut child = std::process::Command::new("node")
            .args(["end2end/tools/smtp-peer.mjs", user, password])
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .current_dir(root)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("node runs the SMTP peer (`make tools` installs its npm packages)");
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().expect("the peer starts").unwrap();
        let port = first
            .strip_prefix("LISTENING ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line from the SMTP peer: {first}"));
        let mail = Arc::new(Mutex::new(Vec::new()));
        let sink = mail.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                sink.lock()
                    .unwrap()
                    .push(serde_json::from_str(&line).unwrap());
            }
        });
        SmtpPeer { child, port, mail }
    }

    fn received(&self) -> Vec<Value> {
        self.mail.lock().unwrap().clone()
    }
}

impl Drop for SmtpPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn smtp_channel(app: &TestApp, port: u16, password: &str) -> Value {
    smtp_channel_on(app, "127.0.0.1", port, "plain", password).await
}

async fn smtp_channel_on(
    app: &TestApp,
    host: &str,
    port: u16,
    security: &str,
    password: &str,
) -> Value {
    let port = port.to_string();
    channel(
        app,
        &[
            ("input[kind]", "smtp"),
            ("input[name]", "Guest email"),
            ("input[host]", host),
            ("input[port]", &port),
            ("input[security]", security),
            ("input[username]", "desk"),
            ("input[secret]", password),
            ("input[from]", "desk@bistro.example"),
            ("input[from_name]", "Demo Bistro"),
        ],
    )
    .await
}

#[tokio::test]
async fn a_real_smtp_server_gets_the_confirmation_with_both_parts_and_the_ics() {
    let peer = SmtpPeer::start("desk", "s3cret");
    let Some(app) = app(None).await else { return };
    smtp_channel(&app, peer.port, "s3cret").await;
    let (status, guest) = app
        .post(
            "/rpc/clients/save",
            &[
                ("input[name]", "<script>alert(1)</script> Ada"),
                ("input[email]", "ada@guest.example"),
                ("input[phone]", ""),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{guest}");
    let resource = app.resource("Terrace", 8).await;
    let day = future_date(6);
    let client = guest["id"].as_str().unwrap();
    let (status, booking) = app
        .post(
            "/rpc/bookings/create",
            &booking_form(&resource, client, &day, "19:00", "21:00", "4"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{booking}");
    let id = booking["id"].as_str().unwrap().to_string();
    app.eventually(
        "the confirmation email",
        Duration::from_secs(15),
        || async { !peer.received().is_empty() },
    )
    .await;
    let m = &peer.received()[0];
    assert!(m.get("error").is_none(), "{m}");
    assert_eq!(m["envelope_to"], serde_json::json!(["ada@guest.example"]));
    assert_eq!(m["from"], "\"Demo Bistro\" <desk@bistro.example>");
    assert_eq!(m["subject"], "Your booking at Demo Bistro");
    assert_eq!(m["content_type"], "multipart/mixed");
    let text = m["text"].as_str().unwrap();
    assert!(text.contains("Party of 4, Terrace (confirmed)"), "{text}");
    assert!(
        text.contains("<script>alert(1)</script> Ada"),
        "plain text stays as typed: {text}"
    );
    assert!(
        text.contains(&format!("{}/manage/", app.config.public_url)),
        "{text}"
    );
    let html = m["html"].as_str().unwrap();
    assert!(
        html.contains("Hello &lt;script&gt;alert(1)&lt;/script&gt; Ada"),
        "{html}"
    );
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        html.contains(&format!("<a href=\"{}/manage/", app.config.public_url)),
        "{html}"
    );
    let ics = &m["attachments"][0];
    assert_eq!(ics["filename"], "booking.ics");
    assert_eq!(ics["content_type"], "text/calendar");
    assert_eq!(ics["method"], "REQUEST");
    assert_eq!(ics["calendar"]["method"], "REQUEST");
    assert_eq!(ics["calendar"]["uid"], format!("{id}@hitch").as_str());
    assert_eq!(ics["calendar"]["status"], "CONFIRMED");

    // The cancellation carries the same entry, cancelled.
    let (status, body) = app
        .post(
            "/rpc/bookings/cancel",
            &[("id", &id), ("revision", "1"), ("reason", "")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.eventually(
        "the cancellation email",
        Duration::from_secs(15),
        || async { peer.received().len() == 2 },
    )
    .await;
    let m = &peer.received()[1];
    assert_eq!(m["subject"], "Your booking at Demo Bistro is cancelled");
    let cal = &m["attachments"][0]["calendar"];
    assert_eq!(cal["method"], "CANCEL");
    assert_eq!(cal["uid"], format!("{id}@hitch").as_str());
    assert_eq!(cal["status"], "CANCELLED");
    assert!(cal["sequence"].as_i64().unwrap() >= 2, "{cal}");
}

#[tokio::test]
async fn a_wrong_smtp_password_marks_the_channel_broken() {
    let peer = SmtpPeer::start("desk", "s3cret");
    let Some(app) = app(None).await else { return };
    let c = smtp_channel(&app, peer.port, "wrong").await;
    let (status, test) = app
        .post(
            "/rpc/notifications/channels/test",
            &[("id", c["id"].as_str().unwrap())],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{test}");
    assert_eq!(test["status"], "failed", "{test}");
    assert!(test["detail"].as_str().unwrap().contains("535"), "{test}");
    assert!(peer.received().is_empty());
    let (_, channels) = app.post("/rpc/notifications/channels", &[]).await;
    assert_eq!(channels[0]["health"], "broken", "{channels}");
}

#[tokio::test]
async fn sendgrid_gets_its_v3_mail_send_body_with_a_bearer_key() {
    let (fake, url) = Fake::start().await;
    let base = format!("{url}/sendgrid/202");
    let Some(app) = TestApp::spawn_with(move |c| {
        c.outbound_allow = "127.0.0.0/8".into();
        c.sendgrid_api_base = base;
    })
    .await
    else {
        return;
    };
    app.sign_in().await;
    let c = channel(
        &app,
        &[
            ("input[kind]", "sendgrid"),
            ("input[name]", "SendGrid"),
            ("input[secret]", "SG.test-key"),
            ("input[from]", "desk@bistro.example"),
            ("input[from_name]", "Demo Bistro"),
            ("input[team_to]", "team@bistro.example"),
        ],
    )
    .await;
    let (status, test) = app
        .post(
            "/rpc/notifications/channels/test",
            &[("id", c["id"].as_str().unwrap())],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{test}");
    assert_eq!(test["status"], "sent", "{test}");
    let got = &fake.requests("sendgrid")[0];
    assert_eq!(got.path, "sendgrid/202/v3/mail/send");
    assert_eq!(got.headers["authorization"], "Bearer SG.test-key");
    let body: Value = serde_json::from_str(&got.body).unwrap();
    assert_eq!(
        body["personalizations"][0]["to"],
        serde_json::json!([{ "email": "team@bistro.example" }])
    );
    assert_eq!(
        body["from"],
        serde_json::json!({ "email": "desk@bistro.example", "name": "Demo Bistro" })
    );
    assert_eq!(body["content"][0]["type"], "text/plain");
    assert_eq!(body["content"][1]["type"], "text/html");
    assert_eq!(body["subject"], "Your booking at Demo Bistro");
}

#[tokio::test]
async fn templates_are_read_and_written_through_the_rest_api_and_checked_strictly() {
    use reqwest::Method;
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let api = crate::api::api(&app).await;
    let (status, all) = api.get("/api/v1/notification-templates").await;
    assert_eq!(status, StatusCode::OK, "{all}");
    // Every event type (17 domain events and reminders) in every family.
    assert_eq!(all["data"].as_array().unwrap().len(), 18 * 4);
    let path = "/api/v1/notification-templates/booking.reminder/sms";
    let (status, one) = api.get(path).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["customized"], false);
    assert!(
        one["variables"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["name"] == "booking.manage_url")
    );

    let bad = serde_json::json!({ "body": "{% if booking.party_size > 2 %}\n{{ guest.firstname }}{% endif %}" });
    let (status, headers, problem) = api.call(Method::PUT, path, Some(bad), &[]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(problem["code"], "validation");
    assert!(
        problem
            .to_string()
            .contains("line 2, column 4: unknown variable `guest.firstname`"),
        "{problem}"
    );

    let good =
        serde_json::json!({ "body": "{{ org.name }}: see you {{ booking.starts_at|time }}" });
    let (status, _, saved) = api.call(Method::PUT, path, Some(good), &[]).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["customized"], true);
    let (_, one) = api.get(path).await;
    assert_eq!(
        one["body"],
        "{{ org.name }}: see you {{ booking.starts_at|time }}"
    );
    let (status, _, reset) = api.call(Method::DELETE, path, None, &[]).await;
    assert_eq!(status, StatusCode::OK, "{reset}");
    assert_eq!(reset["customized"], false);

    let (status, _, problem) = api
        .call(
            Method::GET,
            "/api/v1/notification-templates/booking.exploded/sms",
            None,
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
}

#[tokio::test]
async fn a_guest_who_opts_out_on_the_manage_page_gets_no_reminder() {
    let (fake, url) = Fake::start().await;
    let Some(app) = app(Some(&url)).await else {
        return;
    };
    let sid = format!("AC{}", "0123456789abcdef".repeat(2));
    channel(
        &app,
        &[
            ("input[kind]", "twilio"),
            ("input[name]", "SMS"),
            ("input[secret]", "twilio-auth-token"),
            ("input[account_sid]", &sid),
            ("input[from]", "+14155550100"),
        ],
    )
    .await;
    let booking = book(&app, 3).await;
    let id = booking["id"].as_str().unwrap();
    let (status, link) = app
        .post("/rpc/guest-links/issue", &[("booking_id", id)])
        .await;
    assert_eq!(status, StatusCode::OK, "{link}");
    let token = link["url"].as_str().unwrap().rsplit('/').next().unwrap();
    // The guest has no session: only the link.
    let res = reqwest::Client::new()
        .post(format!("{}/rpc/portal/reminders", app.base))
        .form(&[("token", token), ("wanted", "off")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let opted =
        format!("SELECT COUNT(*) AS n FROM bookings WHERE id = '{id}' AND reminders_opt_out");
    assert_eq!(app.scalar(&opted).await, 1);
    let audited = format!(
        "SELECT COUNT(*) AS n FROM audit_log WHERE entity_id = '{id}' AND action = 'booking.reminders_opted_out' AND actor_kind = 'guest'"
    );
    assert_eq!(app.scalar(&audited).await, 1);

    // The reminder comes due now (instead of in three days): it is skipped, not sent.
    app.exec(&format!(
        "UPDATE jobs SET run_at = 0 WHERE id IN (SELECT job_id FROM notifications WHERE entity_id = '{id}' AND event_type = 'booking.reminder')"
    ))
    .await;
    app.platform.hub.jobs_enqueued();
    let skipped = format!(
        "SELECT COUNT(*) AS n FROM notifications WHERE entity_id = '{id}' AND event_type = 'booking.reminder' AND status = 'skipped' AND skip_reason = 'The guest opted out of reminders.'"
    );
    app.eventually("the reminder skipped", Duration::from_secs(15), || async {
        app.scalar(&skipped).await == 1
    })
    .await;
    assert!(fake.requests("twilio").is_empty());
}

#[tokio::test]
async fn a_429_is_waited_out_as_the_provider_asks_then_the_message_goes() {
    let (fake, url) = Fake::start().await;
    let Some(app) = app(None).await else {
        return;
    };
    channel(
        &app,
        &[
            ("input[kind]", "slack"),
            ("input[name]", "Busy Slack"),
            ("input[secret]", &format!("{url}/slack/429/200")),
        ],
    )
    .await;
    channel(
        &app,
        &[
            ("input[kind]", "discord"),
            ("input[name]", "Busy Discord"),
            ("input[secret]", &format!("{url}/discord/429/200")),
        ],
    )
    .await;
    book(&app, 7).await;
    app.eventually(
        "both sent after their 429",
        Duration::from_secs(20),
        || async {
            log(&app)
                .await
                .iter()
                .filter(|n| n["event_type"] == "booking.created" && n["status"] == "sent")
                .count()
                == 2
        },
    )
    .await;
    for provider in ["slack", "discord"] {
        let got = fake.requests(provider);
        assert_eq!(got.len(), 2, "{provider}: one refused, one accepted");
        let waited = got[1].at - got[0].at;
        assert!(
            waited >= Duration::from_millis(950),
            "{provider} retried after {waited:?}"
        );
    }
    for n in log(&app)
        .await
        .iter()
        .filter(|n| n["event_type"] == "booking.created")
    {
        assert_eq!(n["attempts"], 2, "{n}");
    }
    let (_, channels) = app.post("/rpc/notifications/channels", &[]).await;
    for c in channels.as_array().unwrap() {
        assert_eq!(
            c["health"], "healthy",
            "a success after the wait clears it: {c}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_go_exactly_once_with_two_servers_and_one_killed_mid_burst() {
    let (fake, url) = Fake::start().await;
    // Each text takes 300 ms, so the kill lands while messages are in flight.
    let twilio = format!("{url}/twilio/slow/201");
    // Workers run only in the two child processes.
    let Some(app) = TestApp::spawn_with(|c| {
        c.jobs_enabled = false;
        c.outbound_allow = "127.0.0.0/8".into();
    })
    .await
    else {
        return;
    };
    app.sign_in().await;
    let sid = format!("AC{}", "0123456789abcdef".repeat(2));
    channel(
        &app,
        &[
            ("input[kind]", "twilio"),
            ("input[name]", "SMS"),
            ("input[secret]", "twilio-auth-token"),
            ("input[account_sid]", &sid),
            ("input[from]", "+14155550100"),
        ],
    )
    .await;
    // The demo guest needs a number in international form to be texted.
    app.exec("UPDATE clients SET phone = '+33612345678'").await;
    let n = 20;
    for day in 0..n {
        book(&app, 3 + day).await;
    }
    let reminders = "SELECT COUNT(*) AS n FROM notifications WHERE event_type = 'booking.reminder'";
    assert_eq!(app.scalar(reminders).await, n);
    // Every reminder comes due at once.
    app.exec("UPDATE jobs SET run_at = 0 WHERE kind = 'notify.send'")
        .await;
    let env = [
        ("HITCH_OUTBOUND_ALLOW", "127.0.0.0/8"),
        ("HITCH_TWILIO_API_BASE", twilio.as_str()),
    ];
    let mut first = app.spawn_process(&env);
    let _second = app.spawn_process(&env);
    app.eventually("the burst to start", Duration::from_secs(30), || async {
        !fake.requests("twilio").is_empty()
    })
    .await;
    first.kill9();
    // The survivor finishes the rest; what the killed one held waits for its lease.
    let done = "SELECT COUNT(*) AS n FROM notifications WHERE event_type = 'booking.reminder' AND status IN ('sent', 'failed')";
    app.eventually(
        "every reminder settled",
        Duration::from_secs(60),
        || async { app.scalar(done).await == n },
    )
    .await;
    let sent = app
        .scalar("SELECT COUNT(*) AS n FROM notifications WHERE event_type = 'booking.reminder' AND status = 'sent'")
        .await;
    let unknown = app
        .scalar("SELECT COUNT(*) AS n FROM notifications WHERE event_type = 'booking.reminder' AND status = 'failed' AND last_error LIKE 'The process stopped while sending%'")
        .await;
    assert_eq!(sent + unknown, n, "every reminder sent, or marked unknown");
    let bodies: Vec<String> = fake
        .requests("twilio")
        .iter()
        .map(|g| {
            url::form_urlencoded::parse(g.body.as_bytes())
                .find(|(k, _)| k == "Body")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        })
        .collect();
    let unique: std::collections::HashSet<&String> = bodies.iter().collect();
    assert_eq!(unique.len(), bodies.len(), "a reminder was texted twice");
    assert!(bodies.len() as i64 >= sent && bodies.len() as i64 <= n);
}

#[tokio::test]
async fn a_monthly_quota_skips_further_messages_and_says_so() {
    let (fake, url) = Fake::start().await;
    let Some(app) = app(None).await else {
        return;
    };
    let c = channel(
        &app,
        &[
            ("input[kind]", "discord"),
            ("input[name]", "Small plan"),
            ("input[secret]", &format!("{url}/discord/200")),
            ("input[monthly_quota]", "1"),
        ],
    )
    .await;
    let id = c["id"].as_str().unwrap();
    let (_, first) = app
        .post("/rpc/notifications/channels/test", &[("id", id)])
        .await;
    assert_eq!(first["status"], "sent", "{first}");
    let (_, second) = app
        .post("/rpc/notifications/channels/test", &[("id", id)])
        .await;
    assert_eq!(second["status"], "skipped", "{second}");
    assert!(
        second["detail"].as_str().unwrap().contains("quota reached"),
        "{second}"
    );
    assert_eq!(fake.requests("discord").len(), 1);
    // A booking still goes through; its message is skipped, not lost silently.
    book(&app, 8).await;
    app.eventually(
        "the booking's message skipped",
        Duration::from_secs(10),
        || async {
            log(&app)
                .await
                .iter()
                .any(|n| n["event_type"] == "booking.created" && n["status"] == "skipped")
        },
    )
    .await;
    let (_, channels) = app.post("/rpc/notifications/channels", &[]).await;
    assert_eq!(channels[0]["health"], "quota_reached", "{channels}");
    assert_eq!(channels[0]["sent_this_month"], 1);
}

#[tokio::test]
async fn five_failures_in_a_row_open_the_circuit() {
    let (fake, url) = Fake::start().await;
    let Some(app) = app(None).await else {
        return;
    };
    channel(
        &app,
        &[
            ("input[kind]", "discord"),
            ("input[name]", "Down"),
            ("input[secret]", &format!("{url}/discord/503")),
        ],
    )
    .await;
    let messages = 12;
    for day in 0..messages {
        book(&app, 10 + day).await;
    }
    app.eventually("the circuit open", Duration::from_secs(20), || async {
        let (_, channels) = app.post("/rpc/notifications/channels", &[]).await;
        channels[0]["health"] == "failing"
    })
    .await;
    // Without the circuit all twelve would have been tried by now. With it, only the
    // five failures and what was already under way when it opened (the channel runs at
    // most four sends at once) reach Discord; the rest wait.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let tried = fake.requests("discord").len();
    assert!((5..=9).contains(&tried), "{tried} requests");
    let waiting = app
        .scalar("SELECT COUNT(*) AS n FROM notifications WHERE status = 'pending' AND attempts = 0")
        .await;
    assert!(waiting >= messages - 9, "{waiting} messages waiting");
    let (_, channels) = app.post("/rpc/notifications/channels", &[]).await;
    assert!(
        channels[0]["health_detail"]
            .as_str()
            .unwrap()
            .contains(" failures in a row; paused"),
        "{channels}"
    );
}

/// A CA and a `localhost` certificate it signed, made with the openssl command line.
fn certificates(dir: &std::path::Path) -> (String, String, String) {
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=Hitch test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "smtp.key",
        "-out",
        "smtp.csr",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "smtp.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "ext.cnf",
        "-out",
        "smtp.pem",
    ]);
    let p = |f: &str| dir.join(f).display().to_string();
    (p("ca.pem"), p("smtp.key"), p("smtp.pem"))
}

#[tokio::test]
async fn email_goes_over_implicit_tls_and_starttls_to_a_server_with_its_own_ca() {
    let dir = std::env::temp_dir().join(format!("hitch-smtp-tls-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let (ca, key, cert) = certificates(&dir);
    for mode in ["implicit", "starttls"] {
        let peer = SmtpPeer::start_with(
            "desk",
            "s3cret",
            &[
                ("SMTP_TLS", mode.to_string()),
                ("SMTP_TLS_KEY", key.clone()),
                ("SMTP_TLS_CERT", cert.clone()),
            ],
        );
        let ca = ca.clone();
        let Some(app) = TestApp::spawn_with(move |c| {
            c.outbound_allow = "127.0.0.0/8".into();
            c.smtp_ca_file = Some(ca.into());
        })
        .await
        else {
            return;
        };
        app.sign_in().await;
        let security = if mode == "implicit" {
            "tls"
        } else {
            "starttls"
        };
        let c = smtp_channel_on(&app, "localhost", peer.port, security, "s3cret").await;
        let (status, test) = app
            .post(
                "/rpc/notifications/channels/test",
                &[("id", c["id"].as_str().unwrap())],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{test}");
        assert_eq!(test["status"], "sent", "{mode}: {test}");
        let got = peer.received();
        assert_eq!(got.len(), 1, "{mode}");
        assert_eq!(
            got[0]["secure"], true,
            "{mode}: the message crossed encrypted"
        );
    }
    // Without the CA, the same server is not trusted: nothing is sent in the clear.
    let peer = SmtpPeer::start_with(
        "desk",
        "s3cret",
        &[
            ("SMTP_TLS", "implicit".to_string()),
            ("SMTP_TLS_KEY", key),
            ("SMTP_TLS_CERT", cert),
        ],
    );
    let Some(app) = app(None).await else { return };
    let c = smtp_channel_on(&app, "localhost", peer.port, "tls", "s3cret").await;
    let (_, test) = app
        .post(
            "/rpc/notifications/channels/test",
            &[("id", c["id"].as_str().unwrap())],
        )
        .await;
    assert_ne!(test["status"], "sent", "{test}");
    assert!(peer.received().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_reminder_moves_with_its_booking_and_a_failed_message_can_be_retried() {
    let (fake, url) = Fake::start().await;
    // Twilio refuses the first text (400, e.g. a number it cannot reach), then accepts.
    let base = format!("{url}/twilio/400/201");
    let Some(app) = TestApp::spawn_with(move |c| {
        c.outbound_allow = "127.0.0.0/8".into();
        c.twilio_api_base = base;
    })
    .await
    else {
        return;
    };
    app.sign_in().await;
    app.exec("UPDATE clients SET phone = '+33612345678'").await;
    let sid = format!("AC{}", "0123456789abcdef".repeat(2));
    channel(
        &app,
        &[
            ("input[kind]", "twilio"),
            ("input[name]", "SMS"),
            ("input[secret]", "twilio-auth-token"),
            ("input[account_sid]", &sid),
            ("input[from]", "+14155550100"),
        ],
    )
    .await;
    let resource = app.resource("Terrace", 8).await;
    let client = app.a_client().await;
    let day = future_date(5);
    let (_, created) = app
        .post(
            "/rpc/bookings/create",
            &booking_form(&resource, &client, &day, "19:00", "21:00", "2"),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_string();
    let send_at = |status: &'static str| {
        format!(
            "SELECT send_at AS n FROM notifications WHERE entity_id = '{id}' AND event_type = 'booking.reminder' AND status = '{status}'"
        )
    };
    let first = app.scalar(&send_at("pending")).await;

    // Two hours later the same day: the reminder follows, the old one is set aside.
    let later = future_date(5);
    let mut form = booking_form(&resource, &client, &later, "21:00", "23:00", "2");
    form.push(("id", &id));
    form.push(("revision", "1"));
    let (status, moved) = app.post("/rpc/bookings/update", &form).await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(app.scalar(&send_at("pending")).await - first, 2 * 3_600_000);
    assert_eq!(app.scalar(&send_at("skipped")).await, first);
    // A change that keeps the time keeps the reminder.
    let mut form = booking_form(&resource, &client, &later, "21:00", "23:00", "3");
    form.push(("id", &id));
    form.push(("revision", "2"));
    let (status, body) = app.post("/rpc/bookings/update", &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let pending = format!(
        "SELECT COUNT(*) AS n FROM notifications WHERE entity_id = '{id}' AND event_type = 'booking.reminder' AND status = 'pending'"
    );
    assert_eq!(app.scalar(&pending).await, 1);

    // The reminder comes due now; Twilio refuses it; the manager retries it by hand.
    app.exec(&format!(
        "UPDATE jobs SET run_at = 0 WHERE id IN (SELECT job_id FROM notifications WHERE entity_id = '{id}' AND status = 'pending')"
    ))
    .await;
    app.platform.hub.jobs_enqueued();
    app.eventually(
        "the refused reminder failed",
        Duration::from_secs(10),
        || async { log(&app).await.iter().any(|n| n["status"] == "failed") },
    )
    .await;
    let failed = log(&app)
        .await
        .into_iter()
        .find(|n| n["status"] == "failed")
        .unwrap();
    assert!(
        failed["detail"]
            .as_str()
            .unwrap()
            .contains("Twilio answered 400"),
        "{failed}"
    );
    let failed_id = failed["id"].as_str().unwrap().to_string();
    let (status, body) = app
        .post("/rpc/notifications/retry", &[("id", &failed_id)])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.eventually(
        "the retried message sent",
        Duration::from_secs(10),
        || async {
            log(&app)
                .await
                .iter()
                .any(|n| n["id"] == failed_id.as_str() && n["status"] == "sent")
        },
    )
    .await;
    // A sent message cannot be retried (nothing is sent twice by accident).
    let (status, body) = app
        .post("/rpc/notifications/retry", &[("id", &failed_id)])
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(fake.requests("twilio").len(), 2);
}

#[tokio::test]
async fn a_managers_rule_emails_the_owners_and_admins() {
    let (fake, url) = Fake::start().await;
    let base = format!("{url}/sendgrid/202");
    let Some(app) = TestApp::spawn_with(move |c| {
        c.outbound_allow = "127.0.0.0/8".into();
        c.sendgrid_api_base = base;
    })
    .await
    else {
        return;
    };
    app.sign_in().await;
    let c = channel(
        &app,
        &[
            ("input[kind]", "sendgrid"),
            ("input[name]", "Office email"),
            ("input[secret]", "SG.test-key"),
            ("input[from]", "desk@bistro.example"),
        ],
    )
    .await;
    let (status, body) = app
        .post(
            "/rpc/notifications/rules/create",
            &[
                ("input[event_type]", "client.created"),
                ("input[channel_id]", c["id"].as_str().unwrap()),
                ("input[recipient]", "managers"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .post("/rpc/clients/save", &[("input[name]", "Grace Hopper")])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.eventually("the managers' email", Duration::from_secs(10), || async {
        !fake.requests("sendgrid").is_empty()
    })
    .await;
    let sent: Value = serde_json::from_str(&fake.requests("sendgrid")[0].body).unwrap();
    let to: Vec<&str> = sent["personalizations"][0]["to"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["email"].as_str())
        .collect();
    let managers = app
        .scalar("SELECT COUNT(*) AS n FROM users WHERE role IN ('owner', 'admin')")
        .await;
    // Exactly the owners and admins: staff are not managers.
    assert_eq!(to.len() as i64, managers, "{sent}");
    assert!(to.contains(&"owner@demo.hitch.test"), "{sent}");
}
