//! The REST API: keys, problems, pagination, tenancy, idempotency, rate limits, and the
//! OpenAPI document checked against the routes actually served.
use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::{Value, json};
use server::services::{api_keys, demo};

use crate::support::{TestApp, future_date};

pub(crate) struct Api<'a> {
    pub app: &'a TestApp,
    pub key: String,
}

impl Api<'_> {
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, HeaderMap, Value) {
        let mut req = self
            .app
            .client
            .request(method, format!("{}{path}", self.app.base))
            .bearer_auth(&self.key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = req.send().await.expect("request");
        let (status, headers) = (res.status(), res.headers().clone());
        let text = res.text().await.expect("body");
        (
            status,
            headers,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let (s, _, b) = self.call(Method::GET, path, None, &[]).await;
        (s, b)
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let (s, _, b) = self.call(Method::POST, path, Some(body), &[]).await;
        (s, b)
    }
}

pub(crate) async fn api(app: &TestApp) -> Api<'_> {
    let (_, key) = api_keys::create(
        &app.db,
        &app.org_id,
        "tests",
        "test",
        app::model::api_scope::ApiScope::ReadWrite,
    )
    .await
    .expect("key");
    Api { app, key }
}

fn is_problem(headers: &HeaderMap) -> bool {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "application/problem+json")
}

async fn first(api: &Api<'_>, path: &str) -> String {
    let (status, body) = api.get(path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"][0]["id"].as_str().expect("an id").to_string()
}

/// A booking at 19:00-21:00 local (Paris) time, `days` ahead, as UTC instants.
fn slot(days: i64) -> (String, String) {
    use chrono::TimeZone;
    let day = chrono::NaiveDate::parse_from_str(&future_date(days), "%Y-%m-%d").expect("day");
    let paris: chrono_tz::Tz = "Europe/Paris".parse().expect("tz");
    let at = |h| {
        paris
            .from_local_datetime(&day.and_hms_opt(h, 0, 0).expect("time"))
            .single()
            .expect("local")
            .with_timezone(&chrono::Utc)
            .to_rfc3339()
    };
    (at(19), at(21))
}

#[tokio::test]
async fn keys_are_required_valid_and_revocable() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let res = app
        .client
        .get(format!("{}/api/v1/bookings", app.base))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(is_problem(res.headers()));
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["code"], "unauthenticated");
    assert!(body["detail"].as_str().expect("detail").contains("Bearer"));

    let bad = Api {
        app: &app,
        key: "hk_live_not-a-real-key".into(),
    };
    let (status, body) = bad.get("/api/v1/bookings").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    let (row, key) = api_keys::create(
        &app.db,
        &app.org_id,
        "zapier",
        "test",
        app::model::api_scope::ApiScope::ReadWrite,
    )
    .await
    .expect("key");
    assert!(key.starts_with("hk_live_") && row.prefix.len() < key.len());
    let good = Api { app: &app, key };
    assert_eq!(good.get("/api/v1/bookings").await.0, StatusCode::OK);
    assert!(
        api_keys::revoke(&app.db, &app.org_id, &row.id)
            .await
            .expect("revoke")
    );
    assert_eq!(
        good.get("/api/v1/bookings").await.0,
        StatusCode::UNAUTHORIZED
    );
    // Only the hash is stored.
    let stored = api_keys::list(&app.db, &app.org_id).await.expect("list");
    assert!(
        stored
            .iter()
            .all(|k| !k.key_hash.contains(&good.key) && k.key_hash.len() == 64)
    );
}

#[tokio::test]
async fn bookings_round_trip_with_cursor_pagination_and_audit() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let api = api(&app).await;
    let resource = first(&api, "/api/v1/resources").await;
    let client = first(&api, "/api/v1/clients").await;
    let (starts, ends) = slot(9);
    let (status, created) = api
        .post(
            "/api/v1/bookings",
            json!({ "resource_id": resource, "client_id": client, "starts_at": starts,
                    "ends_at": ends, "party_size": 2, "notes": "via API", "deposit_minor": 1500 }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["status"], "confirmed");
    assert_eq!(created["deposit_minor"], 1500);
    assert_eq!(created["revision"], 1);
    let id = created["id"].as_str().expect("id");
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(created["starts_at"].as_str().expect("t")).expect("t"),
        chrono::DateTime::parse_from_rfc3339(&starts).expect("t")
    );

    // Walk every booking two at a time: no repeats, no gaps.
    let total = app.count("bookings").await as usize;
    let mut seen = Vec::new();
    let mut path = "/api/v1/bookings?limit=2".to_string();
    loop {
        let (status, page) = api.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        for b in page["data"].as_array().expect("data") {
            seen.push(b["id"].as_str().expect("id").to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/bookings?limit=2&after={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), total);
    let unique: std::collections::HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), total);

    // Reschedule with the revision, then a stale revision is refused.
    let (s2, e2) = slot(10);
    let (status, _, moved) = api
        .call(
            Method::PATCH,
            &format!("/api/v1/bookings/{id}"),
            Some(json!({ "revision": 1, "starts_at": s2, "ends_at": e2 })),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["revision"], 2);
    let (status, headers, stale) = api
        .call(
            Method::PATCH,
            &format!("/api/v1/bookings/{id}"),
            Some(json!({ "revision": 1, "party_size": 3 })),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{stale}");
    assert_eq!(stale["code"], "stale_revision");
    assert!(is_problem(&headers));

    let (status, cancelled) = api
        .post(
            &format!("/api/v1/bookings/{id}/cancel"),
            json!({ "revision": 2, "reason": "API" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");

    // The API's events list shows what happened, newest last.
    let (_, events) = api.get("/api/v1/events?type=booking.rescheduled").await;
    let data = events["data"].as_array().expect("data");
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["data"]["id"], id);
    let (_, catalog) = api.get("/api/v1/event-types").await;
    assert!(
        catalog["data"]
            .as_array()
            .expect("types")
            .iter()
            .any(|t| t["name"] == "invoice.paid" && t["sample"]["status"] == "paid")
    );
    // The audit log names the API key as the actor.
    let n = app
        .scalar(&format!(
            "SELECT COUNT(*) AS n FROM audit_log WHERE entity_id = '{id}' AND actor_kind = 'api_key'"
        ))
        .await;
    assert_eq!(n, 3);
}

#[tokio::test]
async fn bad_requests_get_precise_problems_and_write_nothing() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let api = api(&app).await;
    let resource = first(&api, "/api/v1/resources").await;
    let client = first(&api, "/api/v1/clients").await;
    let before = app.count("bookings").await;
    let (starts, ends) = slot(12);

    let raw = app
        .client
        .post(format!("{}/api/v1/bookings", app.base))
        .bearer_auth(&api.key)
        .header("content-type", "application/json")
        .body("{\"resource_id\": ")
        .send()
        .await
        .expect("request");
    assert_eq!(raw.status(), StatusCode::BAD_REQUEST);
    assert!(is_problem(raw.headers()));
    assert_eq!(
        raw.json::<Value>().await.expect("json")["code"],
        "invalid_json"
    );

    let base = json!({ "resource_id": resource, "client_id": client, "starts_at": starts,
                       "ends_at": ends, "party_size": 2 });
    let mut unknown = base.clone();
    unknown["colour"] = json!("blue");
    let (status, body) = api.post("/api/v1/bookings", unknown).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "unknown_field");
    assert_eq!(body["field"], "colour");

    let mut wrong_type = base.clone();
    wrong_type["party_size"] = json!("lots");
    let (status, body) = api.post("/api/v1/bookings", wrong_type).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "party_size");

    // PostgreSQL cannot store NUL; it is refused for every body, wherever it hides.
    let mut nul = base.clone();
    nul["notes"] = json!("window\u{0}seat");
    let (status, body) = api.post("/api/v1/bookings", nul).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "notes");
    let (status, body) = api
        .post("/api/v1/clients", json!({ "name": "Ann\u{0}" }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "name");
    let (status, body) = api.get("/api/v1/clients?q=a%00b").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["field"], "q");
    let (status, body) = api.get(&format!("/api/v1/clients/{client}%00")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    let mut backwards = base.clone();
    backwards["ends_at"] = json!(starts);
    let (status, body) = api.post("/api/v1/bookings", backwards).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "ends_at");

    let mut too_big = base.clone();
    too_big["party_size"] = json!(5000);
    let (status, body) = api.post("/api/v1/bookings", too_big).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "party_size");

    let mut unknown_id = base.clone();
    unknown_id["resource_id"] = json!("res_nope");
    let (status, body) = api.post("/api/v1/bookings", unknown_id).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "resource_id");

    let (status, body) = api.get("/api/v1/bookings?limit=0").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "limit");
    let (status, body) = api.get("/api/v1/bookings?starts_after=yesterday").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], "invalid_query");

    let mut huge = base.clone();
    huge["notes"] = json!("x".repeat(200 * 1024));
    let (status, body) = api.post("/api/v1/bookings", huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");

    assert_eq!(app.count("bookings").await, before, "nothing was written");
    let (status, body) = api.get("/api/v1/nothing-here").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

#[tokio::test]
async fn another_organizations_ids_are_not_found() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let ours = api(&app).await;
    let booking = first(&ours, "/api/v1/bookings").await;
    let client = first(&ours, "/api/v1/clients").await;
    let invoice = first(&ours, "/api/v1/invoices").await;
    let resource = first(&ours, "/api/v1/resources").await;

    let other = demo::ensure_org(&app.db, "Rival Diner", "Europe/Paris", "EUR")
        .await
        .expect("org");
    let (_, key) = api_keys::create(
        &app.db,
        &other.id,
        "rival",
        "test",
        app::model::api_scope::ApiScope::ReadWrite,
    )
    .await
    .expect("key");
    let theirs = Api { app: &app, key };
    for path in [
        format!("/api/v1/bookings/{booking}"),
        format!("/api/v1/clients/{client}"),
        format!("/api/v1/invoices/{invoice}"),
        format!("/api/v1/resources/{resource}"),
    ] {
        let (status, body) = theirs.get(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_eq!(body["code"], "not_found");
    }
    let (status, body) = theirs
        .post(
            &format!("/api/v1/bookings/{booking}/cancel"),
            json!({ "revision": 1 }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (_, list) = theirs.get("/api/v1/bookings").await;
    assert_eq!(list["data"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn idempotency_keys_replay_and_refuse_a_different_body() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let api = api(&app).await;
    let body = json!({ "name": "Idem Potent", "email": "idem@example.com" });
    let key = [("Idempotency-Key", "create-idem-1")];
    let (s1, h1, first) = api
        .call(Method::POST, "/api/v1/clients", Some(body.clone()), &key)
        .await;
    assert_eq!(s1, StatusCode::CREATED, "{first}");
    assert!(h1.get("idempotent-replayed").is_none());
    let (s2, h2, second) = api
        .call(Method::POST, "/api/v1/clients", Some(body), &key)
        .await;
    assert_eq!(s2, StatusCode::CREATED);
    assert_eq!(second, first, "the first response is replayed");
    assert_eq!(
        h2.get("idempotent-replayed").map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    let n = app
        .scalar("SELECT COUNT(*) AS n FROM clients WHERE email = 'idem@example.com'")
        .await;
    assert_eq!(n, 1, "one client, however many retries");

    let (s3, h3, refused) = api
        .call(
            Method::POST,
            "/api/v1/clients",
            Some(json!({ "name": "Someone Else" })),
            &key,
        )
        .await;
    assert_eq!(s3, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["code"], "idempotency_key_reused");
    assert!(is_problem(&h3));
}

#[tokio::test]
async fn each_key_is_rate_limited_with_retry_after() {
    let Some(app) = TestApp::spawn_with(|c| c.api_rate_per_second = 2).await else {
        return;
    };
    let api = api(&app).await;
    let mut limited = None;
    for _ in 0..12 {
        let (status, headers, body) = api
            .call(Method::GET, "/api/v1/event-types", None, &[])
            .await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some((headers, body));
            break;
        }
        assert_eq!(status, StatusCode::OK);
    }
    let (headers, body) = limited.expect("12 quick requests at 2/s must hit the limit");
    assert_eq!(body["code"], "rate_limited");
    let retry: u64 = headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After seconds");
    assert!((1..=2).contains(&retry), "{retry}");
    // Another key has its own budget.
    let other = self::api(&app).await;
    assert_eq!(other.get("/api/v1/event-types").await.0, StatusCode::OK);
}

/// Every documented operation is served (an unauthenticated call gets 401, never
/// 404/405) and documents the errors every call can meet, and the document is OpenAPI
/// 3.1 covering every resource.
#[tokio::test]
async fn the_openapi_document_matches_the_routes() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let doc: Value = app
        .client
        .get(format!("{}/api/v1/openapi.json", app.base))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert!(doc["openapi"].as_str().expect("version").starts_with("3.1"));
    let paths = doc["paths"].as_object().expect("paths");
    let mut operations = 0;
    for (path, item) in paths {
        for method in ["get", "post", "patch", "delete", "put"] {
            if item.get(method).is_none() {
                continue;
            }
            operations += 1;
            // Every error it can answer is documented, as a problem document.
            let responses = item[method]["responses"].as_object().expect("responses");
            for status in ["400", "401", "403", "429"] {
                assert!(
                    responses[status]["content"]["application/problem+json"].is_object(),
                    "{method} {path}: {status} undocumented"
                );
            }
            for (status, r) in responses {
                if status.starts_with('4') {
                    assert!(
                        r["content"].get("application/json").is_none(),
                        "{method} {path}: {status} documented as plain JSON"
                    );
                }
            }
            let url = format!("{}{}", app.base, path.replace("{id}", "x_1"));
            let res = app
                .client
                .request(method.to_uppercase().parse().expect("method"), &url)
                .send()
                .await
                .expect("request");
            assert_eq!(
                res.status(),
                StatusCode::UNAUTHORIZED,
                "{} {path} is documented but not served as documented",
                method.to_uppercase()
            );
        }
    }
    for resource in [
        "bookings",
        "clients",
        "invoices",
        "resources",
        "events",
        "webhook-endpoints",
        "webhook-deliveries",
        "hooks",
    ] {
        assert!(
            paths.contains_key(&format!("/api/v1/{resource}")),
            "{resource} undocumented"
        );
    }
    assert!(paths.contains_key("/api/v1/event-types"));
    assert_eq!(
        operations, 48,
        "operations changed: update this count and the README"
    );
    // The served document is the one the code generates.
    let generated =
        serde_json::to_value(server::routes::api::openapi(&app.platform)).expect("json");
    assert_eq!(doc, generated);
}

/// Everything the database holds, as text: SQLite's files as they are on disk (with
/// the write-ahead log), or every row of every table on PostgreSQL.
async fn dump(app: &TestApp) -> String {
    use sea_orm::{ConnectionTrait, Statement};
    if let Some(file) = server::db::sqlite_file(&app.config.database_url) {
        let mut out = String::new();
        for path in [file.clone(), format!("{file}-wal")] {
            if let Ok(bytes) = std::fs::read(&path) {
                out.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
        return out;
    }
    let backend = app.db.get_database_backend();
    let tables = app
        .db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()",
        ))
        .await
        .expect("tables");
    let mut out = String::new();
    for t in tables {
        let name: String = t.try_get("", "table_name").expect("name");
        let rows = app
            .db
            .query_all_raw(Statement::from_string(
                backend,
                format!("SELECT t::text AS row FROM \"{name}\" t"),
            ))
            .await
            .expect("rows");
        for r in rows {
            out.push_str(&r.try_get::<String>("", "row").unwrap_or_default());
            out.push('\n');
        }
    }
    out
}

/// Responses remembered for an `Idempotency-Key` are replayed, but a signing secret
/// or a guest link in them is never stored where a copy of the database shows it.
#[tokio::test]
async fn secrets_in_idempotent_responses_stay_out_of_the_database() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let api = api(&app).await;
    let create = json!({ "url": "https://receiver.example/hook" });
    let key = [("Idempotency-Key", "endpoint-1")];
    let (s, _, created) = api
        .call(
            Method::POST,
            "/api/v1/webhook-endpoints",
            Some(create.clone()),
            &key,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let secret = created["secret"].as_str().expect("secret").to_string();
    assert!(secret.starts_with("whsec_"));
    let (_, h, replayed) = api
        .call(
            Method::POST,
            "/api/v1/webhook-endpoints",
            Some(create),
            &key,
        )
        .await;
    assert_eq!(replayed, created, "the first answer is replayed");
    assert!(h.get("idempotent-replayed").is_some());

    let ep = created["id"].as_str().expect("id").to_string();
    let (s, _, rotated) = api
        .call(
            Method::POST,
            &format!("/api/v1/webhook-endpoints/{ep}/rotate-secret"),
            None,
            &[("Idempotency-Key", "rotate-1")],
        )
        .await;
    assert!(s.is_success(), "{rotated}");
    let rotated = rotated["secret"].as_str().expect("secret").to_string();

    let booking = first(&api, "/api/v1/bookings").await;
    let (s, _, link) = api
        .call(
            Method::POST,
            &format!("/api/v1/bookings/{booking}/guest-link"),
            None,
            &[("Idempotency-Key", "link-1")],
        )
        .await;
    assert!(s.is_success(), "{link}");
    let token = link["url"]
        .as_str()
        .and_then(|u| u.rsplit('/').next())
        .expect("token")
        .to_string();

    let all = dump(&app).await;
    for (what, value) in [
        ("secret", &secret),
        ("rotated secret", &rotated),
        ("guest token", &token),
    ] {
        assert!(
            !all.contains(value.as_str()),
            "the {what} is in the database"
        );
    }
}

#[tokio::test]
async fn a_key_does_only_what_its_scope_allows() {
    use app::model::api_scope::ApiScope;
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    let key_of = |scope| {
        let app = &app;
        async move {
            let (row, key) = api_keys::create(&app.db, &app.org_id, "scoped", "test", scope)
                .await
                .expect("key");
            assert_eq!(row.scope, scope.as_str());
            Api { app, key }
        }
    };
    let reader = key_of(ApiScope::ReadOnly).await;
    let (status, list) = reader.get("/api/v1/bookings").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let before = app.count("clients").await;
    let (status, problem) = reader
        .post(
            "/api/v1/clients",
            json!({ "name": "Nope", "email": "n@example.com" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(problem["code"], "forbidden");
    assert_eq!(problem["required_scope"], "read_write");
    assert_eq!(app.count("clients").await, before, "nothing was written");

    let zapier = key_of(ApiScope::Webhooks).await;
    let (status, _) = zapier.get("/api/v1/event-types").await;
    assert_eq!(status, StatusCode::OK);
    let (status, hook) = zapier
        .post(
            "/api/v1/hooks",
            json!({ "target_url": "https://hooks.zapier.com/hooks/standard/1/abc", "event": "booking.created" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{hook}");
    for path in [
        "/api/v1/bookings",
        "/api/v1/clients",
        "/api/v1/calendar-feeds",
    ] {
        let (status, problem) = zapier.get(path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {problem}");
        assert_eq!(problem["required_scope"], "read_only");
    }

    let writer = key_of(ApiScope::ReadWrite).await;
    let (status, c) = writer
        .post(
            "/api/v1/clients",
            json!({ "name": "Yes", "email": "y@example.com" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{c}");

    // The dashboard shows each key's scope.
    app.sign_in().await;
    let (_, keys) = app.post("/rpc/api-keys/list", &[]).await;
    let labels: Vec<&str> = keys
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["scope_label"].as_str().expect("label"))
        .collect();
    for l in ["Read only", "Webhooks only", "Read and write"] {
        assert!(labels.contains(&l), "{labels:?}");
    }
    let (status, made) = app
        .post(
            "/rpc/api-keys/create",
            &[("name", "CLI"), ("scope", "admin")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{made}");
}
