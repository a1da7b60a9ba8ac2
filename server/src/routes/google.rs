//! The browser's side of connecting Google Calendar, and Google's push notices.
//!
//! `POST /integrations/google/connect` (a same-site form) remembers a fresh `state` and
//! PKCE verifier in the user's session and sends them to Google; Google sends them back
//! to `GET /integrations/google/callback`, which accepts only the `state` it gave out,
//! once, within ten minutes, for the same signed-in user.
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, request::Parts};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use tower_sessions::Session;

use crate::Platform;
use crate::consumers::calendars::watch::{self, Notice};
use crate::services::auth;

pub const START: &str = "/integrations/google/connect";
pub const CALLBACK: &str = "/integrations/google/callback";
const PAGE: &str = "/calendar/sync";
const SESSION_KEY: &str = "google_oauth";
const FLOW_TTL_SECS: i64 = 600;

#[derive(Serialize, Deserialize)]
struct Pending {
    state: String,
    verifier: String,
    resource_id: Option<String>,
    user_id: String,
    started_at: i64,
}

#[derive(Deserialize)]
pub struct StartForm {
    #[serde(default)]
    resource_id: String,
}

fn back(query: &str) -> Response {
    Redirect::to(&format!("{PAGE}?{query}")).into_response()
}

pub async fn start(
    State(p): State<Platform>,
    parts: Parts,
    Form(form): Form<StartForm>,
) -> Response {
    let user = match auth::session_user(&p.db, &parts).await {
        Ok(Some(u)) if u.role.can_manage() => u,
        Ok(Some(_)) => return back("error=forbidden"),
        Ok(None) => return Redirect::to("/login").into_response(),
        Err(_) => return back("error=internal"),
    };
    let Some(session) = parts.extensions.get::<Session>().cloned() else {
        return back("error=internal");
    };
    let svc = crate::calendar_sync_service(&p);
    let auth = match svc.start_connect() {
        Ok(a) => a,
        Err(_) => return back("error=not_configured"),
    };
    let resource_id = Some(form.resource_id.trim().to_string()).filter(|r| !r.is_empty());
    let pending = Pending {
        state: auth.state,
        verifier: auth.verifier,
        resource_id,
        user_id: user.user_id,
        started_at: chrono::Utc::now().timestamp(),
    };
    if session.insert(SESSION_KEY, &pending).await.is_err() {
        return back("error=internal");
    }
    Redirect::to(&auth.url).into_response()
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

pub async fn callback(
    State(p): State<Platform>,
    parts: Parts,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let user = match auth::session_user(&p.db, &parts).await {
        Ok(Some(u)) if u.role.can_manage() => u,
        Ok(Some(_)) => return back("error=forbidden"),
        Ok(None) => return Redirect::to("/login").into_response(),
        Err(_) => return back("error=internal"),
    };
    let Some(session) = parts.extensions.get::<Session>().cloned() else {
        return back("error=internal");
    };
    // One use: whatever happens next, this state is spent.
    let pending: Option<Pending> = session.remove(SESSION_KEY).await.ok().flatten();
    let Some(pending) = pending else {
        return back("error=state");
    };
    let given = q.state.unwrap_or_default();
    let fresh = chrono::Utc::now().timestamp() - pending.started_at <= FLOW_TTL_SECS;
    if !bool::from(given.as_bytes().ct_eq(pending.state.as_bytes()))
        || !fresh
        || pending.user_id != user.user_id
    {
        return back("error=state");
    }
    if q.error.is_some() {
        return back("error=denied");
    }
    let Some(code) = q.code.filter(|c| !c.is_empty() && c.len() <= 2048) else {
        return back("error=state");
    };
    let svc = crate::calendar_sync_service(&p);
    match svc
        .finish_connect(
            &user,
            &code,
            &pending.verifier,
            pending.resource_id.as_deref(),
        )
        .await
    {
        Ok(_) => back("notice=calendar_connected"),
        Err(e) => {
            tracing::warn!(error = %e, "Google Calendar connection failed");
            back("error=google")
        }
    }
}

/// `POST /hooks/google-calendar`: Google's "this calendar changed". Unknown channels
/// and wrong tokens get 404 and nothing else.
pub async fn notice(State(p): State<Platform>, headers: HeaderMap) -> StatusCode {
    let h = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    match watch::receive(
        &p.db,
        &p.hub,
        &h("x-goog-channel-id"),
        &h("x-goog-channel-token"),
        &h("x-goog-resource-state"),
    )
    .await
    {
        Ok(Notice::Refused) => StatusCode::NOT_FOUND,
        Ok(_) => StatusCode::OK,
        // Google retries a failed notice with backoff.
        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}
