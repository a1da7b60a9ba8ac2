//! `/live`: server-sent events for the signed-in dashboard, one message per committed
//! change in the user's organization (and job-queue changes). `?since=` (the page's
//! render time, ms) first replays what changed between the render and the connection.
use std::convert::Infallible;
use std::time::Duration;

use app::error::AppError;
use axum::extract::State;
use axum::http::request::Parts;
use axum::response::sse::{Event, KeepAlive, Sse};
use serde::Deserialize;
use tokio_stream::{Stream, StreamExt, wrappers::BroadcastStream};

use crate::Platform;
use crate::routes::api::problem::{ApiQuery, Problem};
use crate::services::auth;

#[derive(Deserialize)]
pub struct Since {
    since: Option<i64>,
}

pub async fn stream(
    State(p): State<Platform>,
    ApiQuery(q): ApiQuery<Since>,
    parts: Parts,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Problem> {
    let user = auth::session_user(&p.db, &parts)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let org = user.org_id;
    // Subscribe before reading the buffer: a change in between arrives twice (one
    // extra reload at worst), never not at all.
    let live = BroadcastStream::new(p.hub.subscribe());
    let missed = q.since.map(|t| p.hub.since(t, &org)).unwrap_or_default();
    let live = live.filter_map(move |c| {
        // A lagging receiver skips what it missed; the next change still refreshes.
        let c = c.ok()?;
        (c.org_id == org || c.org_id.is_empty()).then_some(c)
    });
    let changes = tokio_stream::iter(missed).chain(live).map(|c| {
        Ok(Event::default()
            .event("message")
            .data(serde_json::to_string(&c).unwrap_or_default()))
    });
    Ok(Sse::new(changes).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
