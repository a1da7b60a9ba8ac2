//! `/api/v1/calendar-feeds`: private `.ics` links for calendar apps. The link carries
//! the token; creating or rotating answers it, revoking stops it at once.
use app::model::calendar::{FeedInput, FeedView};
use app::ports::CalendarPort;
use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiState;
use super::auth::Caller;
use super::problem::{ApiJson, ApiPath, Problem, ProblemBody};

#[derive(Serialize, ToSchema)]
pub struct CalendarFeed {
    pub id: String,
    pub label: String,
    /// Only this resource's bookings; every resource's when null.
    pub resource_id: Option<String>,
    /// `full` (names, party size, notes, contact) or `busy` (busy times only).
    pub privacy: String,
    /// The subscription link; it is the credential, share it like a password.
    pub url: String,
    /// `active` or `expired`.
    pub state: String,
    pub expires_at: Option<String>,
    pub created_at: String,
    pub last_fetched_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CalendarFeedList {
    pub data: Vec<CalendarFeed>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCalendarFeed {
    pub label: String,
    #[serde(default)]
    pub resource_id: Option<String>,
    /// `full` or `busy`.
    pub privacy: String,
    /// 1 to 366; no expiry when absent.
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

fn out(f: FeedView) -> CalendarFeed {
    CalendarFeed {
        id: f.id,
        label: f.label,
        resource_id: f.resource_id,
        privacy: f.privacy,
        url: f.url,
        state: f.state,
        expires_at: f.expires_at,
        created_at: f.created_at,
        last_fetched_at: f.last_fetched_at,
    }
}

fn service(s: &ApiState) -> crate::services::calendars::CalendarService {
    crate::calendar_service(&s.platform)
}

#[utoipa::path(get, path = "/api/v1/calendar-feeds", tag = "calendars",
    responses((status = 200, body = CalendarFeedList)))]
pub async fn list(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
) -> Result<Json<CalendarFeedList>, Problem> {
    let all = service(&s).feeds(&c.user).await.map_err(Problem::from)?;
    Ok(Json(CalendarFeedList {
        data: all.into_iter().map(out).collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/calendar-feeds", tag = "calendars",
    request_body = NewCalendarFeed,
    responses((status = 201, body = CalendarFeed), (status = 422, body = ProblemBody)))]
pub async fn create(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiJson(input): ApiJson<NewCalendarFeed>,
) -> Result<(StatusCode, Json<CalendarFeed>), Problem> {
    let f = service(&s)
        .create_feed(
            &c.user,
            &FeedInput {
                label: input.label.trim().to_string(),
                resource_id: input.resource_id.filter(|r| !r.is_empty()),
                privacy: input.privacy,
                expires_in_days: input.expires_in_days,
            },
        )
        .await
        .map_err(Problem::from)?;
    Ok((StatusCode::CREATED, Json(out(f))))
}

/// The link stops working at once.
#[utoipa::path(delete, path = "/api/v1/calendar-feeds/{id}", tag = "calendars",
    params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ProblemBody)))]
pub async fn revoke(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, Problem> {
    service(&s)
        .revoke_feed(&c.user, &id)
        .await
        .map_err(Problem::from)?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new link for the same feed; the old one stops working.
#[utoipa::path(post, path = "/api/v1/calendar-feeds/{id}/rotate", tag = "calendars",
    params(("id" = String, Path)),
    responses((status = 200, body = CalendarFeed), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody, description = "invalid_transition: the feed was revoked")))]
pub async fn rotate(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<CalendarFeed>, Problem> {
    let f = service(&s)
        .rotate_feed(&c.user, &id)
        .await
        .map_err(Problem::from)?;
    Ok(Json(out(f)))
}
