//! A fake Google (OAuth 2.0 and Calendar v3) for the tests, following the published
//! contract (Google's OAuth 2.0 for web server apps, RFC 7636, and the Calendar API
//! discovery document `calendar/v3`) for the calls Hitch makes:
//!
//! - `GET /o/oauth2/v2/auth`: the consent screen, granted at once: redirects to
//!   `redirect_uri` with `code` and the `state` it was given; `code_challenge` with
//!   `code_challenge_method=S256` is required (the verifier is checked at the token
//!   endpoint);
//! - `POST /token`: `authorization_code` (with `code_verifier`, `redirect_uri`, the
//!   client's id and secret) and `refresh_token` grants; errors as
//!   `{"error": "invalid_grant", "error_description"}` with 400;
//! - `POST /revoke`: `token=` revokes a refresh token and its access tokens;
//! - `GET /calendar/v3/users/me/calendarList`;
//! - events `insert` (409 `duplicate` for an id that exists, deleted ones included),
//!   `get`, `update` (PUT) and `delete` with `If-Match` (412 `conditionNotMet`),
//!   deleting a deleted event is 410 `deleted`;
//! - `events.list` with `pageToken`, `maxResults` (default 250) and `syncToken`:
//!   `nextSyncToken` only on the last page, deleted events as `status: cancelled` in
//!   incremental results, 410 `fullSyncRequired` for a token the test expired;
//! - `events.watch` channels (`web_hook`), a `sync` notice when made and `exists`
//!   notices on changes, carrying `X-Goog-Channel-ID`, `X-Goog-Channel-Token`,
//!   `X-Goog-Resource-ID`, `X-Goog-Resource-State` and `X-Goog-Message-Number`;
//!   `channels.stop`;
//! - `Authorization: Bearer` checked on every API call (401 `authError`); errors as
//!   `{"error": {"code", "message", "errors": [{"domain", "reason", "message"}]}}`.
//!
//! Tests act as the calendar's owner in Google's own app (`user_move`, `user_delete`,
//! `user_create`) and script outages and rate limits (`fail_next`, answered with
//! `Retry-After: 1`).
#![allow(clippy::unwrap_used)] // test fixture: a poisoned lock is a failed test

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use serde_json::{Value, json};
use sha2::Digest;

pub const CLIENT_ID: &str = "hitch-test.apps.googleusercontent.com";
pub const CLIENT_SECRET: &str = "GOCSPX-test-secret";
pub const ACCOUNT: &str = "owner@example.com";
pub const TEAM: &str = "team@group.calendar.google.com";

#[derive(Clone, Debug)]
struct Stored {
    event: Value,
    /// The change counter when it last changed.
    seq: u64,
}

struct Grant {
    challenge: String,
    redirect_uri: String,
}

struct Channel {
    id: String,
    token: String,
    address: String,
    calendar: String,
    resource_id: String,
    messages: u64,
}

#[derive(Default)]
struct Inner {
    calendars: BTreeMap<String, BTreeMap<String, Stored>>,
    codes: HashMap<String, Grant>,
    /// refresh token -> still valid
    refresh_tokens: HashMap<String, bool>,
    /// access token -> (refresh token, valid)
    access_tokens: HashMap<String, (String, bool)>,
    channels: Vec<Channel>,
    seq: u64,
    /// Sync tokens below this answer 410.
    oldest_sync: u64,
    script: VecDeque<(u16, &'static str)>,
    requests: Vec<(String, String)>,
    n: u64,
}

#[derive(Clone)]
pub struct FakeGoogle {
    inner: Arc<Mutex<Inner>>,
    pub base: String,
    http: reqwest::Client,
}

fn api_error(status: u16, reason: &str, message: &str) -> Response {
    let domain = match reason {
        "rateLimitExceeded" | "userRateLimitExceeded" => "usageLimits",
        "fullSyncRequired" => "calendar",
        _ => "global",
    };
    (
        StatusCode::from_u16(status).unwrap(),
        Json(json!({"error": {"code": status, "message": message,
            "errors": [{"domain": domain, "reason": reason, "message": message}]}})),
    )
        .into_response()
}

fn oauth_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

fn valid_event_id(id: &str) -> bool {
    (5..=1024).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='v').contains(&c))
}

impl Inner {
    fn next(&mut self) -> u64 {
        self.n += 1;
        self.n
    }

    fn touch(&mut self, cal: &str, id: &str, mut event: Value) -> Value {
        self.seq += 1;
        let seq = self.seq;
        event["etag"] = json!(format!("\"{seq}\""));
        event["updated"] = json!(chrono::Utc::now().to_rfc3339());
        event["kind"] = json!("calendar#event");
        self.calendars.entry(cal.to_string()).or_default().insert(
            id.to_string(),
            Stored {
                event: event.clone(),
                seq,
            },
        );
        event
    }

    /// The channels watching `cal`, with their next message number.
    fn notices(&mut self, cal: &str) -> Vec<(String, String, String, String, u64)> {
        self.channels
            .iter_mut()
            .filter(|c| c.calendar == cal)
            .map(|c| {
                c.messages += 1;
                (
                    c.address.clone(),
                    c.id.clone(),
                    c.token.clone(),
                    c.resource_id.clone(),
                    c.messages,
                )
            })
            .collect()
    }
}

type Shared = State<FakeGoogle>;

impl FakeGoogle {
    pub async fn start() -> FakeGoogle {
        FakeGoogle::start_on("127.0.0.1:0").await
    }

    pub async fn start_on(addr: &str) -> FakeGoogle {
        let mut fake = FakeGoogle {
            inner: Arc::default(),
            base: String::new(),
            http: reqwest::Client::new(),
        };
        {
            let mut g = fake.inner.lock().unwrap();
            g.calendars.insert(ACCOUNT.into(), BTreeMap::new());
            g.calendars.insert(TEAM.into(), BTreeMap::new());
        }
        let app = Router::new()
            .route("/o/oauth2/v2/auth", get(authorize))
            .route("/token", post(token))
            .route("/revoke", post(revoke))
            .route("/calendar/v3/users/me/calendarList", get(calendar_list))
            .route(
                "/calendar/v3/calendars/{cal}/events",
                get(list).post(insert),
            )
            .route("/calendar/v3/calendars/{cal}/events/watch", post(watch))
            .route(
                "/calendar/v3/calendars/{cal}/events/{id}",
                get(get_event).put(update).delete(delete),
            )
            .route("/calendar/v3/channels/stop", post(stop))
            .route(
                "/_test/move",
                post(|State(f): Shared, Json(b): Json<Value>| async move {
                    let ok = f
                        .user_move(
                            b["calendar"].as_str().unwrap_or(ACCOUNT),
                            b["id"].as_str().unwrap_or_default(),
                            b["start"].as_str().unwrap_or_default(),
                            b["end"].as_str().unwrap_or_default(),
                        )
                        .await;
                    if ok {
                        StatusCode::OK
                    } else {
                        StatusCode::NOT_FOUND
                    }
                }),
            )
            .route(
                "/_test/create",
                post(|State(f): Shared, Json(b): Json<Value>| async move {
                    let id = f
                        .user_create(
                            b["calendar"].as_str().unwrap_or(ACCOUNT),
                            b["start"].as_str().unwrap_or_default(),
                            b["end"].as_str().unwrap_or_default(),
                            false,
                        )
                        .await;
                    Json(json!({ "id": id }))
                }),
            )
            .route(
                "/_test/events",
                get(|State(f): Shared| async move { Json(json!(f.events(ACCOUNT))) }),
            )
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        fake.base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        fake
    }

    pub fn api_base(&self) -> String {
        format!("{}/calendar/v3", self.base)
    }

    /// Points a Hitch configuration at this fake.
    pub fn configure(&self, c: &mut server::config::Config) {
        c.google_client_id = Some(CLIENT_ID.into());
        c.google_client_secret = Some(server::config::Sensitive(CLIENT_SECRET.into()));
        c.google_auth_url = format!("{}/o/oauth2/v2/auth", self.base);
        c.google_token_url = format!("{}/token", self.base);
        c.google_revoke_url = format!("{}/revoke", self.base);
        c.google_api_base = self.api_base();
    }

    /// The next API calls answer these errors instead (status, reason).
    pub fn fail_next(&self, status: u16, reason: &'static str) {
        self.inner
            .lock()
            .unwrap()
            .script
            .push_back((status, reason));
    }

    /// Every grant stops working, as when the user removes access in their account.
    pub fn revoke_all(&self) {
        let mut g = self.inner.lock().unwrap();
        g.refresh_tokens.values_mut().for_each(|v| *v = false);
        g.access_tokens.values_mut().for_each(|v| v.1 = false);
    }

    /// Access tokens expire (refresh tokens still work).
    pub fn expire_access_tokens(&self) {
        let mut g = self.inner.lock().unwrap();
        g.access_tokens.values_mut().for_each(|v| v.1 = false);
    }

    /// Every sync token handed out so far answers 410.
    pub fn expire_sync_tokens(&self) {
        let mut g = self.inner.lock().unwrap();
        g.oldest_sync = g.seq + 1;
    }

    pub fn valid_refresh_tokens(&self) -> usize {
        self.inner
            .lock()
            .unwrap()
            .refresh_tokens
            .values()
            .filter(|v| **v)
            .count()
    }

    /// (method, path) of every request so far.
    pub fn requests(&self) -> Vec<(String, String)> {
        self.inner.lock().unwrap().requests.clone()
    }

    pub fn count(&self, method: &str, path_part: &str) -> usize {
        self.requests()
            .iter()
            .filter(|(m, p)| m == method && p.contains(path_part))
            .count()
    }

    pub fn events(&self, cal: &str) -> Vec<Value> {
        let g = self.inner.lock().unwrap();
        g.calendars
            .get(cal)
            .map(|c| c.values().map(|s| s.event.clone()).collect())
            .unwrap_or_default()
    }

    pub fn event(&self, cal: &str, id: &str) -> Option<Value> {
        let g = self.inner.lock().unwrap();
        g.calendars.get(cal)?.get(id).map(|s| s.event.clone())
    }

    pub fn channels(&self) -> usize {
        self.inner.lock().unwrap().channels.len()
    }

    async fn notify(&self, cal: &str) {
        let notices = self.inner.lock().unwrap().notices(cal);
        for (address, id, token, resource, n) in notices {
            let _ = self
                .http
                .post(&address)
                .header("X-Goog-Channel-ID", id)
                .header("X-Goog-Channel-Token", token)
                .header("X-Goog-Resource-ID", resource)
                .header("X-Goog-Resource-State", "exists")
                .header("X-Goog-Message-Number", n.to_string())
                .send()
                .await;
        }
    }

    /// The owner drags the event to new times in Google's app.
    pub async fn user_move(&self, cal: &str, id: &str, start: &str, end: &str) -> bool {
        {
            let mut g = self.inner.lock().unwrap();
            let Some(mut e) = g
                .calendars
                .get(cal)
                .and_then(|c| c.get(id))
                .map(|s| s.event.clone())
            else {
                return false;
            };
            e["start"] = json!({"dateTime": start});
            e["end"] = json!({"dateTime": end});
            g.touch(cal, id, e);
        }
        self.notify(cal).await;
        true
    }

    /// The owner deletes the event in Google's app.
    pub async fn user_delete(&self, cal: &str, id: &str) -> bool {
        {
            let mut g = self.inner.lock().unwrap();
            let Some(mut e) = g
                .calendars
                .get(cal)
                .and_then(|c| c.get(id))
                .map(|s| s.event.clone())
            else {
                return false;
            };
            e["status"] = json!("cancelled");
            g.touch(cal, id, e);
        }
        self.notify(cal).await;
        true
    }

    /// The owner adds an event of their own; returns its id.
    pub async fn user_create(&self, cal: &str, start: &str, end: &str, free: bool) -> String {
        let id = {
            let mut g = self.inner.lock().unwrap();
            let id = format!("own{}", g.next());
            let mut e = json!({"id": id, "status": "confirmed", "summary": "Dentist",
                "start": {"dateTime": start}, "end": {"dateTime": end}});
            if free {
                e["transparency"] = json!("transparent");
            }
            g.touch(cal, &id, e);
            id
        };
        self.notify(cal).await;
        id
    }

    /// Many own events at once (one notice), for sync at scale.
    pub async fn user_create_many(
        &self,
        cal: &str,
        n: usize,
        first_start: chrono::DateTime<chrono::Utc>,
    ) {
        {
            let mut g = self.inner.lock().unwrap();
            for i in 0..n {
                let start = first_start + chrono::Duration::minutes(30 * i as i64);
                let end = start + chrono::Duration::minutes(20);
                let id = format!("bulk{}", g.next());
                let e = json!({"id": id, "status": "confirmed", "summary": "Busy",
                    "start": {"dateTime": start.to_rfc3339()}, "end": {"dateTime": end.to_rfc3339()}});
                g.touch(cal, &id, e);
            }
        }
        self.notify(cal).await;
    }

    /// Checks the bearer token and the script (the refusal to send, if any); the request
    /// is logged.
    fn gate(&self, method: &str, path: &str, headers: &HeaderMap) -> Option<Response> {
        let mut g = self.inner.lock().unwrap();
        g.requests.push((method.into(), path.into()));
        let token = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !g.access_tokens.get(token).is_some_and(|t| t.1) {
            return Some(api_error(401, "authError", "Invalid Credentials"));
        }
        if let Some((status, reason)) = g.script.pop_front() {
            let mut r = api_error(status, reason, "Scripted failure");
            // A short wait named, so a test of the back-off does not sit out the default.
            r.headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from_static("1"));
            return Some(r);
        }
        None
    }
}

async fn authorize(Query(q): Query<HashMap<String, String>>, State(f): Shared) -> Response {
    let (Some(redirect), Some(state), Some(challenge)) = (
        q.get("redirect_uri"),
        q.get("state"),
        q.get("code_challenge"),
    ) else {
        return (StatusCode::BAD_REQUEST, "Error 400: invalid_request").into_response();
    };
    if q.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        || q.get("response_type").map(String::as_str) != Some("code")
        || q.get("code_challenge_method").map(String::as_str) != Some("S256")
    {
        return (StatusCode::BAD_REQUEST, "Error 400: invalid_request").into_response();
    }
    let code = {
        let mut g = f.inner.lock().unwrap();
        let code = format!("4/code{}", g.next());
        g.codes.insert(
            code.clone(),
            Grant {
                challenge: challenge.clone(),
                redirect_uri: redirect.clone(),
            },
        );
        code
    };
    let mut to = url::Url::parse(redirect).unwrap();
    to.query_pairs_mut().append_pair("state", state).append_pair("code", &code).append_pair(
        "scope",
        "https://www.googleapis.com/auth/calendar.readonly https://www.googleapis.com/auth/calendar.events",
    );
    Redirect::to(to.as_str()).into_response()
}

async fn token(State(f): Shared, Form(form): Form<HashMap<String, String>>) -> Response {
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    if get("client_id") != CLIENT_ID || get("client_secret") != CLIENT_SECRET {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client", "error_description": "Unauthorized"})),
        )
            .into_response();
    }
    let mut g = f.inner.lock().unwrap();
    g.requests.push(("POST".into(), "/token".into()));
    let refresh = match get("grant_type") {
        "authorization_code" => {
            let Some(grant) = g.codes.remove(get("code")) else {
                return oauth_error("invalid_grant", "Malformed auth code.");
            };
            let digest = sha2::Sha256::digest(get("code_verifier").as_bytes());
            let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
            if computed != grant.challenge {
                return oauth_error("invalid_grant", "Invalid code verifier.");
            }
            if grant.redirect_uri != get("redirect_uri") {
                return oauth_error("redirect_uri_mismatch", "Bad Request");
            }
            let r = format!("1//refresh{}", g.next());
            g.refresh_tokens.insert(r.clone(), true);
            Some(r)
        }
        "refresh_token" => {
            if !g
                .refresh_tokens
                .get(get("refresh_token"))
                .copied()
                .unwrap_or(false)
            {
                return oauth_error("invalid_grant", "Token has been expired or revoked.");
            }
            None
        }
        _ => return oauth_error("unsupported_grant_type", "Invalid grant_type"),
    };
    let access = format!("ya29.access{}", g.next());
    let owner = refresh
        .clone()
        .unwrap_or_else(|| get("refresh_token").to_string());
    g.access_tokens.insert(access.clone(), (owner, true));
    let mut body = json!({
        "access_token": access,
        "expires_in": 3599,
        "scope": "https://www.googleapis.com/auth/calendar.readonly https://www.googleapis.com/auth/calendar.events",
        "token_type": "Bearer",
    });
    if let Some(r) = refresh {
        body["refresh_token"] = json!(r);
    }
    Json(body).into_response()
}

async fn revoke(State(f): Shared, Form(form): Form<HashMap<String, String>>) -> Response {
    let token = form.get("token").cloned().unwrap_or_default();
    let mut g = f.inner.lock().unwrap();
    if let Some(v) = g.refresh_tokens.get_mut(&token) {
        *v = false;
        for a in g.access_tokens.values_mut() {
            if a.0 == token {
                a.1 = false;
            }
        }
        StatusCode::OK.into_response()
    } else {
        oauth_error("invalid_token", "Token expired or revoked")
    }
}

async fn calendar_list(State(f): Shared, headers: HeaderMap) -> Response {
    if let Some(r) = f.gate("GET", "/users/me/calendarList", &headers) {
        return r;
    }
    Json(json!({
        "kind": "calendar#calendarList",
        "items": [
            {"kind": "calendar#calendarListEntry", "id": ACCOUNT, "summary": ACCOUNT, "primary": true, "accessRole": "owner"},
            {"kind": "calendar#calendarListEntry", "id": TEAM, "summary": "Team rota", "accessRole": "reader"},
        ]
    }))
    .into_response()
}

async fn insert(
    State(f): Shared,
    Path(cal): Path<String>,
    headers: HeaderMap,
    Json(mut body): Json<Value>,
) -> Response {
    if let Some(r) = f.gate("POST", &format!("/calendars/{cal}/events"), &headers) {
        return r;
    }
    let result = {
        let mut g = f.inner.lock().unwrap();
        if !g.calendars.contains_key(&cal) {
            return api_error(404, "notFound", "Not Found");
        }
        let id = match body["id"].as_str() {
            Some(id) if !valid_event_id(id) => {
                return api_error(400, "invalid", "Invalid resource id value.");
            }
            Some(id) => id.to_string(),
            None => format!("gen{}", g.next()),
        };
        if g.calendars[&cal].contains_key(&id) {
            return api_error(409, "duplicate", "The requested identifier already exists.");
        }
        if body["start"].is_null() || body["end"].is_null() {
            return api_error(400, "required", "Missing end time.");
        }
        body["id"] = json!(id);
        if body["status"].is_null() {
            body["status"] = json!("confirmed");
        }
        g.touch(&cal, &id, body)
    };
    f.notify(&cal).await;
    Json(result).into_response()
}

async fn get_event(
    State(f): Shared,
    Path((cal, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = f.gate("GET", &format!("/calendars/{cal}/events/{id}"), &headers) {
        return r;
    }
    match f.event(&cal, &id) {
        Some(e) => Json(e).into_response(),
        None => api_error(404, "notFound", "Not Found"),
    }
}

fn if_match_fails(headers: &HeaderMap, current: &Value) -> bool {
    headers
        .get("if-match")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|etag| Some(etag) != current["etag"].as_str())
}

async fn update(
    State(f): Shared,
    Path((cal, id)): Path<(String, String)>,
    headers: HeaderMap,
    Json(mut body): Json<Value>,
) -> Response {
    if let Some(r) = f.gate("PUT", &format!("/calendars/{cal}/events/{id}"), &headers) {
        return r;
    }
    let result = {
        let mut g = f.inner.lock().unwrap();
        let Some(current) = g
            .calendars
            .get(&cal)
            .and_then(|c| c.get(&id))
            .map(|s| s.event.clone())
        else {
            return api_error(404, "notFound", "Not Found");
        };
        if if_match_fails(&headers, &current) {
            return api_error(412, "conditionNotMet", "Precondition Failed");
        }
        body["id"] = json!(id);
        if body["status"].is_null() {
            body["status"] = json!("confirmed");
        }
        g.touch(&cal, &id, body)
    };
    f.notify(&cal).await;
    Json(result).into_response()
}

async fn delete(
    State(f): Shared,
    Path((cal, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = f.gate("DELETE", &format!("/calendars/{cal}/events/{id}"), &headers) {
        return r;
    }
    {
        let mut g = f.inner.lock().unwrap();
        let Some(mut current) = g
            .calendars
            .get(&cal)
            .and_then(|c| c.get(&id))
            .map(|s| s.event.clone())
        else {
            return api_error(404, "notFound", "Not Found");
        };
        if current["status"] == "cancelled" {
            return api_error(410, "deleted", "Resource has been deleted");
        }
        if if_match_fails(&headers, &current) {
            return api_error(412, "conditionNotMet", "Precondition Failed");
        }
        current["status"] = json!("cancelled");
        g.touch(&cal, &id, current);
    }
    f.notify(&cal).await;
    StatusCode::NO_CONTENT.into_response()
}

async fn list(
    State(f): Shared,
    Path(cal): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = f.gate("GET", &format!("/calendars/{cal}/events"), &headers) {
        return r;
    }
    let g = f.inner.lock().unwrap();
    let Some(events) = g.calendars.get(&cal) else {
        return api_error(404, "notFound", "Not Found");
    };
    let max = q
        .get("maxResults")
        .and_then(|m| m.parse::<usize>().ok())
        .unwrap_or(250)
        .clamp(1, 2500);
    // A page token carries the offset and the snapshot the listing started from.
    let (offset, snapshot, since) = match (q.get("pageToken"), q.get("syncToken")) {
        (Some(p), _) => {
            let mut parts = p.trim_start_matches('p').split(':');
            let o = parts.next().and_then(|x| x.parse().ok()).unwrap_or(0);
            let s = parts.next().and_then(|x| x.parse().ok()).unwrap_or(g.seq);
            let since = parts.next().and_then(|x| x.parse::<u64>().ok());
            (o, s, since)
        }
        (None, Some(t)) => {
            let since: u64 = t.trim_start_matches('s').parse().unwrap_or(0);
            if since < g.oldest_sync {
                return api_error(
                    410,
                    "fullSyncRequired",
                    "Sync token is no longer valid, a full sync is required.",
                );
            }
            (0, g.seq, Some(since))
        }
        (None, None) => (0, g.seq, None),
    };
    let matching: Vec<&Stored> = events
        .values()
        .filter(|s| s.seq <= snapshot)
        .filter(|s| match since {
            Some(since) => s.seq > since,
            // A full sync leaves deleted events out (showDeleted is false).
            None => s.event["status"] != "cancelled",
        })
        .collect();
    let page: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(max)
        .map(|s| s.event.clone())
        .collect();
    let mut body = json!({"kind": "calendar#events", "summary": cal, "items": page});
    if offset + max < matching.len() {
        let since = since.map(|s| s.to_string()).unwrap_or_default();
        body["nextPageToken"] = json!(format!("p{}:{snapshot}:{since}", offset + max));
    } else {
        body["nextSyncToken"] = json!(format!("s{snapshot}"));
    }
    Json(body).into_response()
}

async fn watch(
    State(f): Shared,
    Path(cal): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = f.gate("POST", &format!("/calendars/{cal}/events/watch"), &headers) {
        return r;
    }
    let (Some(id), Some(address)) = (body["id"].as_str(), body["address"].as_str()) else {
        return api_error(400, "required", "Required");
    };
    if body["type"] != "web_hook" {
        return api_error(400, "invalid", "Invalid channel type");
    }
    let token = body["token"].as_str().unwrap_or_default().to_string();
    let expiration = chrono::Utc::now().timestamp_millis() + 7 * 24 * 3600 * 1000;
    let resource_id = {
        let mut g = f.inner.lock().unwrap();
        let resource_id = format!("res{}", g.next());
        g.channels.push(Channel {
            id: id.into(),
            token: token.clone(),
            address: address.into(),
            calendar: cal.clone(),
            resource_id: resource_id.clone(),
            messages: 1,
        });
        resource_id
    };
    // The first message of a channel says only that it exists.
    let _ = f
        .http
        .post(address)
        .header("X-Goog-Channel-ID", id)
        .header("X-Goog-Channel-Token", &token)
        .header("X-Goog-Resource-ID", &resource_id)
        .header("X-Goog-Resource-State", "sync")
        .header("X-Goog-Message-Number", "1")
        .send()
        .await;
    Json(json!({
        "kind": "api#channel", "id": id, "resourceId": resource_id,
        "resourceUri": format!("{}/calendars/{cal}/events", f.api_base()),
        "token": token, "expiration": expiration.to_string(),
    }))
    .into_response()
}

async fn stop(State(f): Shared, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    if let Some(r) = f.gate("POST", "/channels/stop", &headers) {
        return r;
    }
    let mut g = f.inner.lock().unwrap();
    let before = g.channels.len();
    g.channels.retain(|c| {
        Some(c.id.as_str()) != body["id"].as_str()
            || Some(c.resource_id.as_str()) != body["resourceId"].as_str()
    });
    if g.channels.len() == before {
        return api_error(404, "notFound", "Channel not found");
    }
    StatusCode::NO_CONTENT.into_response()
}
