//! A fake Stripe API for the tests, following the published contract (the official
//! OpenAPI spec `stripe/openapi` `spec3.json`, and the `stripe` npm package's types
//! `Checkout/SessionsResource.d.ts`, `RefundsResource.d.ts`) for the calls Hitch makes:
//!
//! - `Authorization: Bearer sk_…`, else 401 with an `invalid_request_error`;
//! - bodies `application/x-www-form-urlencoded` with bracketed names; unknown parameters
//!   are refused ("Received unknown parameter: …") as Stripe does;
//! - `POST /v1/checkout/sessions` requires `mode`, `success_url` (hosted page), one line
//!   item with `price_data[currency]`, `[unit_amount]`, `[product_data][name]` and
//!   `quantity`; `expires_at` must be 30 minutes to 24 hours ahead;
//! - `POST /v1/checkout/sessions/{id}/expire` only for `open` sessions;
//! - `GET /v1/checkout/sessions/{id}`, 404 `resource_missing` when unknown;
//! - `POST /v1/refunds` with `payment_intent` and optional `amount` ≤ what is left;
//! - `GET /v1/account`;
//! - `Idempotency-Key`: the same key with the same parameters replays the first answer
//!   (`Idempotent-Replayed: true`), with other parameters it is an `idempotency_error`;
//! - errors as `{"error": {"type", "code", "message", "param"}}`.
//!
//! Tests drive the payer's side (`pay`, `expire_now`) and script outages (`fail_next`).
#![allow(clippy::unwrap_used)] // test fixture: a poisoned lock is a failed test

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub idempotency_key: Option<String>,
    pub form: Vec<(String, String)>,
}

/// An idempotency key's first request parameters and the answer given to them.
type FirstAnswer = (Vec<(String, String)>, StatusCode, Value);

#[derive(Default)]
struct Inner {
    sessions: HashMap<String, Value>,
    refunds_by_intent: HashMap<String, i64>,
    amounts_by_intent: HashMap<String, i64>,
    idempotency: HashMap<String, FirstAnswer>,
    requests: Vec<Recorded>,
    /// Answers forced on the next requests (outages, rate limits).
    script: VecDeque<StatusCode>,
    seq: u64,
}

#[derive(Clone, Default)]
pub struct FakeStripe {
    inner: Arc<Mutex<Inner>>,
    pub base: String,
}

fn error(
    status: StatusCode,
    kind: &str,
    code: Option<&str>,
    param: Option<&str>,
    message: &str,
) -> (StatusCode, Value) {
    let mut e = json!({ "type": kind, "message": message });
    if let Some(c) = code {
        e["code"] = json!(c);
    }
    if let Some(p) = param {
        e["param"] = json!(p);
    }
    (status, json!({ "error": e }))
}

const SESSION_PARAMS: &[&str] = &[
    "mode",
    "success_url",
    "cancel_url",
    "expires_at",
    "client_reference_id",
    "customer_email",
    "line_items[0][price_data][currency]",
    "line_items[0][price_data][unit_amount]",
    "line_items[0][price_data][product_data][name]",
    "line_items[0][quantity]",
];

impl FakeStripe {
    pub async fn start() -> FakeStripe {
        FakeStripe::start_on("127.0.0.1:0").await
    }

    /// Serves on `addr`; `POST /_test/pay/{session}` plays the payer for other processes.
    pub async fn start_on(addr: &str) -> FakeStripe {
        let mut fake = FakeStripe::default();
        let app = Router::new()
            .route("/v1/checkout/sessions", post(create_session))
            .route("/v1/checkout/sessions/{id}", get(get_session))
            .route("/v1/checkout/sessions/{id}/expire", post(expire_session))
            .route("/v1/refunds", post(create_refund))
            .route("/v1/account", get(account))
            .route(
                "/_test/pay/{id}",
                post(
                    |State(f): State<FakeStripe>, Path(id): Path<String>| async move {
                        if !f.inner.lock().unwrap().sessions.contains_key(&id) {
                            return reply(error(
                                StatusCode::NOT_FOUND,
                                "invalid_request_error",
                                Some("resource_missing"),
                                None,
                                "No such session",
                            ));
                        }
                        reply((StatusCode::OK, f.pay(&id, false)))
                    },
                ),
            )
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        fake.base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        fake
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().unwrap().requests.clone()
    }

    /// The next `n` requests get `status` (503: Stripe down; 429: rate limited).
    pub fn fail_next(&self, n: usize, status: StatusCode) {
        let mut i = self.inner.lock().unwrap();
        for _ in 0..n {
            i.script.push_back(status);
        }
    }

    pub fn session(&self, id: &str) -> Value {
        self.inner.lock().unwrap().sessions[id].clone()
    }

    /// The payer completes the Checkout page: the session becomes `complete`. With
    /// `delayed`, the payment method settles later (`payment_status` stays `unpaid`).
    pub fn pay(&self, session_id: &str, delayed: bool) -> Value {
        let mut i = self.inner.lock().unwrap();
        i.seq += 1;
        let pi = format!("pi_fake{}", i.seq);
        let s = i.sessions.get_mut(session_id).unwrap();
        s["status"] = json!("complete");
        s["payment_status"] = json!(if delayed { "unpaid" } else { "paid" });
        s["payment_intent"] = json!(pi);
        let amount = s["amount_total"].as_i64().unwrap();
        let s = s.clone();
        i.amounts_by_intent.insert(pi, amount);
        s
    }

    /// Stripe expires the session (its `expires_at` passed).
    pub fn expire_now(&self, session_id: &str) -> Value {
        let mut i = self.inner.lock().unwrap();
        let s = i.sessions.get_mut(session_id).unwrap();
        s["status"] = json!("expired");
        s.clone()
    }

    fn begin(
        &self,
        method: &str,
        path: &str,
        headers: &HeaderMap,
        form: &[(String, String)],
    ) -> Option<(StatusCode, Value)> {
        let mut i = self.inner.lock().unwrap();
        i.requests.push(Recorded {
            method: method.into(),
            path: path.into(),
            idempotency_key: headers
                .get("idempotency-key")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            form: form.to_vec(),
        });
        if let Some(status) = i.script.pop_front() {
            let kind = if status == StatusCode::TOO_MANY_REQUESTS {
                "rate_limit_error"
            } else {
                "api_error"
            };
            return Some(error(
                status,
                kind,
                None,
                None,
                "Scripted failure of the fake Stripe.",
            ));
        }
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let Some(key) = auth.strip_prefix("Bearer ") else {
            return Some(error(
                StatusCode::UNAUTHORIZED,
                "invalid_request_error",
                None,
                None,
                "You did not provide an API key.",
            ));
        };
        if !(key.starts_with("sk_test_") || key.starts_with("rk_test_")) || key.contains("revoked")
        {
            return Some(error(
                StatusCode::UNAUTHORIZED,
                "invalid_request_error",
                Some("api_key_invalid"),
                None,
                "Invalid API Key provided.",
            ));
        }
        if method == "POST" {
            let ct = headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !ct.starts_with("application/x-www-form-urlencoded") {
                return Some(error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    None,
                    None,
                    "Invalid request: unsupported Content-Type.",
                ));
            }
        }
        None
    }

    /// Replays or refuses a reused key; `None` when the request is new.
    fn replay(&self, headers: &HeaderMap, form: &[(String, String)]) -> Option<Response> {
        let key = headers.get("idempotency-key")?.to_str().ok()?.to_string();
        let i = self.inner.lock().unwrap();
        let (first_form, status, body) = i.idempotency.get(&key)?;
        if first_form != form {
            let (s, b) = error(
                StatusCode::BAD_REQUEST,
                "idempotency_error",
                None,
                None,
                "Keys for idempotent requests can only be used with the same parameters they were first used with.",
            );
            return Some((s, Json(b)).into_response());
        }
        Some(
            (
                *status,
                [("idempotent-replayed", "true")],
                Json(body.clone()),
            )
                .into_response(),
        )
    }

    fn remember(
        &self,
        headers: &HeaderMap,
        form: &[(String, String)],
        status: StatusCode,
        body: &Value,
    ) {
        if let Some(key) = headers.get("idempotency-key").and_then(|v| v.to_str().ok()) {
            self.inner
                .lock()
                .unwrap()
                .idempotency
                .insert(key.into(), (form.to_vec(), status, body.clone()));
        }
    }
}

fn parse_form(body: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn reply((status, body): (StatusCode, Value)) -> Response {
    (status, Json(body)).into_response()
}

async fn create_session(State(f): State<FakeStripe>, headers: HeaderMap, body: String) -> Response {
    let form = parse_form(&body);
    if let Some(e) = f.begin("POST", "/v1/checkout/sessions", &headers, &form) {
        return reply(e);
    }
    if let Some(r) = f.replay(&headers, &form) {
        return r;
    }
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let bad = |param: &str, message: &str| {
        reply(error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("parameter_invalid"),
            Some(param),
            message,
        ))
    };
    for (name, _) in &form {
        let known = SESSION_PARAMS.contains(&name.as_str())
            || (name.starts_with("metadata[") && name.ends_with(']'))
            || (name.starts_with("payment_intent_data[metadata][") && name.ends_with(']'));
        if !known {
            return reply(error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                Some("parameter_unknown"),
                Some(name),
                &format!("Received unknown parameter: {name}"),
            ));
        }
    }
    if get("mode").as_deref() != Some("payment") {
        return bad("mode", "Missing required param: mode.");
    }
    if get("success_url").is_none() {
        return bad("success_url", "Missing required param: success_url.");
    }
    let currency = get("line_items[0][price_data][currency]").unwrap_or_default();
    if currency.len() != 3 || currency != currency.to_ascii_lowercase() {
        return bad("line_items[0][price_data][currency]", "Invalid currency.");
    }
    let Some(amount) =
        get("line_items[0][price_data][unit_amount]").and_then(|a| a.parse::<i64>().ok())
    else {
        return bad("line_items[0][price_data][unit_amount]", "Invalid integer.");
    };
    if get("line_items[0][price_data][product_data][name]").is_none_or(|n| n.is_empty()) {
        return bad(
            "line_items[0][price_data][product_data][name]",
            "Missing required param: line_items[0][price_data][product_data][name].",
        );
    }
    let quantity = get("line_items[0][quantity]")
        .and_then(|q| q.parse::<i64>().ok())
        .unwrap_or(0);
    if quantity < 1 {
        return bad(
            "line_items[0][quantity]",
            "Missing required param: line_items[0][quantity].",
        );
    }
    let now = chrono::Utc::now().timestamp();
    let expires_at = match get("expires_at").map(|e| e.parse::<i64>()) {
        None => now + 24 * 3600,
        Some(Ok(t)) if (now + 1800 - 5..=now + 24 * 3600 + 5).contains(&t) => t,
        Some(_) => {
            return bad(
                "expires_at",
                "The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation.",
            );
        }
    };
    let metadata: serde_json::Map<String, Value> = form
        .iter()
        .filter_map(|(k, v)| {
            Some((
                k.strip_prefix("metadata[")?.strip_suffix(']')?.to_string(),
                json!(v),
            ))
        })
        .collect();
    let id = {
        let mut i = f.inner.lock().unwrap();
        i.seq += 1;
        format!("cs_test_fake{:04}", i.seq)
    };
    let session = json!({
        "id": id,
        "object": "checkout.session",
        "mode": "payment",
        "status": "open",
        "payment_status": "unpaid",
        "payment_intent": null,
        "amount_total": amount * quantity,
        "currency": currency,
        "client_reference_id": get("client_reference_id"),
        "customer_email": get("customer_email"),
        "expires_at": expires_at,
        "metadata": metadata,
        "success_url": get("success_url"),
        "cancel_url": get("cancel_url"),
        "url": format!("https://checkout.stripe.com/c/pay/{id}"),
        "livemode": false,
    });
    f.inner.lock().unwrap().sessions.insert(id, session.clone());
    f.remember(&headers, &form, StatusCode::OK, &session);
    reply((StatusCode::OK, session))
}

async fn get_session(
    State(f): State<FakeStripe>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(e) = f.begin("GET", &format!("/v1/checkout/sessions/{id}"), &headers, &[]) {
        return reply(e);
    }
    match f.inner.lock().unwrap().sessions.get(&id) {
        Some(s) => reply((StatusCode::OK, s.clone())),
        None => reply(error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            Some("resource_missing"),
            Some("session"),
            &format!("No such checkout.session: '{id}'"),
        )),
    }
}

async fn expire_session(
    State(f): State<FakeStripe>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let form = parse_form(&body);
    if let Some(e) = f.begin(
        "POST",
        &format!("/v1/checkout/sessions/{id}/expire"),
        &headers,
        &form,
    ) {
        return reply(e);
    }
    if let Some(r) = f.replay(&headers, &form) {
        return r;
    }
    let out = {
        let mut i = f.inner.lock().unwrap();
        match i.sessions.get_mut(&id) {
            None => error(
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                Some("resource_missing"),
                Some("session"),
                &format!("No such checkout.session: '{id}'"),
            ),
            Some(s) if s["status"] != "open" => error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                None,
                None,
                "Only Checkout Sessions with a status in [\"open\"] can be expired.",
            ),
            Some(s) => {
                s["status"] = json!("expired");
                (StatusCode::OK, s.clone())
            }
        }
    };
    f.remember(&headers, &form, out.0, &out.1);
    reply(out)
}

async fn create_refund(State(f): State<FakeStripe>, headers: HeaderMap, body: String) -> Response {
    let form = parse_form(&body);
    if let Some(e) = f.begin("POST", "/v1/refunds", &headers, &form) {
        return reply(e);
    }
    if let Some(r) = f.replay(&headers, &form) {
        return r;
    }
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    for (name, _) in &form {
        if !(name == "payment_intent"
            || name == "amount"
            || (name.starts_with("metadata[") && name.ends_with(']')))
        {
            return reply(error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                Some("parameter_unknown"),
                Some(name),
                &format!("Received unknown parameter: {name}"),
            ));
        }
    }
    let out = {
        let mut i = f.inner.lock().unwrap();
        let pi = get("payment_intent").unwrap_or_default();
        match i.amounts_by_intent.get(&pi).copied() {
            None => error(
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                Some("resource_missing"),
                Some("payment_intent"),
                &format!("No such payment_intent: '{pi}'"),
            ),
            Some(total) => {
                let done = i.refunds_by_intent.get(&pi).copied().unwrap_or(0);
                let amount = get("amount")
                    .and_then(|a| a.parse::<i64>().ok())
                    .unwrap_or(total - done);
                if amount <= 0 || done + amount > total {
                    error(
                        StatusCode::BAD_REQUEST,
                        "invalid_request_error",
                        Some("amount_too_large"),
                        Some("amount"),
                        "Refund amount is greater than unrefunded amount on charge.",
                    )
                } else {
                    i.refunds_by_intent.insert(pi.clone(), done + amount);
                    i.seq += 1;
                    (
                        StatusCode::OK,
                        json!({ "id": format!("re_fake{}", i.seq), "object": "refund", "amount": amount, "payment_intent": pi, "status": "succeeded" }),
                    )
                }
            }
        }
    };
    f.remember(&headers, &form, out.0, &out.1);
    reply(out)
}

async fn account(State(f): State<FakeStripe>, headers: HeaderMap) -> Response {
    if let Some(e) = f.begin("GET", "/v1/account", &headers, &[]) {
        return reply(e);
    }
    reply((
        StatusCode::OK,
        json!({ "id": "acct_fake123", "object": "account", "settings": { "dashboard": { "display_name": "Demo Bistro (fake)" } } }),
    ))
}

/// A Stripe event as Stripe sends it: the envelope around `object`.
pub fn event(id: &str, event_type: &str, object: Value) -> String {
    json!({
        "id": id,
        "object": "event",
        "api_version": "2024-06-20",
        "created": chrono::Utc::now().timestamp(),
        "livemode": false,
        "pending_webhooks": 1,
        "type": event_type,
        "data": { "object": object },
    })
    .to_string()
}

/// `Stripe-Signature` computed here, independently of the server's code: hex
/// HMAC-SHA256 of `{t}.{body}` keyed by the whole `whsec_…` string.
pub fn sign(secret: &str, t: i64, body: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}
