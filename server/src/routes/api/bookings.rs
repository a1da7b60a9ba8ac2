//! `/api/v1/bookings`: the same rules as the dashboard (capacity, opening hours,
//! revisions), because writes go through the same service.
use app::model::booking::BookingInput;
use app::model::money::amount_input;
use app::ports::BookingsPort;
use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use chrono::{DateTime, Timelike, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiState;
use super::auth::Caller;
use super::page::{self, Cursor};
use super::problem::{ApiJson, ApiPath, ApiQuery, Problem, ProblemBody};
use crate::api_list;
use crate::db::entities::booking;
use crate::platform::internal;
use crate::services::bookings::BookingsService;
use crate::services::org::tz;

#[derive(Serialize, ToSchema)]
pub struct Booking {
    pub id: String,
    pub resource_id: String,
    pub client_id: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub party_size: i32,
    /// pending, confirmed, cancelled, completed or no_show
    pub status: String,
    pub notes: String,
    /// In minor units of the organization's currency.
    pub deposit_minor: i64,
    pub currency: String,
    /// Grows on every change; send it back to update or cancel.
    pub revision: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

api_list!(BookingList, Booking);

fn out(b: booking::Model, currency: &str) -> Booking {
    Booking {
        id: b.id,
        resource_id: b.resource_id,
        client_id: b.client_id,
        starts_at: b.starts_at,
        ends_at: b.ends_at,
        party_size: b.party_size,
        status: b.status,
        notes: b.notes,
        deposit_minor: b.deposit_minor,
        currency: currency.into(),
        revision: b.revision,
        created_at: b.created_at,
        updated_at: b.updated_at,
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BookingFilter {
    /// Only this status.
    pub status: Option<String>,
    /// Only this resource.
    pub resource_id: Option<String>,
    /// Bookings starting at or after this instant.
    pub starts_after: Option<DateTime<Utc>>,
    /// Bookings starting before this instant.
    pub starts_before: Option<DateTime<Utc>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBooking {
    pub resource_id: String,
    pub client_id: String,
    /// Whole minutes; start and end fall on the same local day.
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub party_size: u32,
    /// pending or confirmed (default), completed, no_show.
    pub status: Option<String>,
    pub notes: Option<String>,
    pub deposit_minor: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookingPatch {
    /// The revision you last read; a stale one is refused with `stale_revision`.
    pub revision: i64,
    pub resource_id: Option<String>,
    pub client_id: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub party_size: Option<u32>,
    pub status: Option<String>,
    pub notes: Option<String>,
    pub deposit_minor: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Cancellation {
    pub revision: i64,
    pub reason: Option<String>,
}

/// Dashboard form names to API names, for errors from the shared service.
const FIELDS: &[(&str, &str)] = &[
    ("date", "starts_at"),
    ("start_time", "starts_at"),
    ("end_time", "ends_at"),
    ("deposit", "deposit_minor"),
];

fn service(s: &ApiState) -> BookingsService {
    BookingsService {
        db: s.platform.db.clone(),
        outbox: s.platform.outbox.clone(),
    }
}

async fn load(s: &ApiState, c: &Caller, id: &str) -> Result<booking::Model, Problem> {
    booking::Entity::find_by_id(id)
        .filter(booking::Column::OrganizationId.eq(&c.org.id))
        .one(&s.platform.db)
        .await
        .map_err(|e| Problem::from(internal(e)))?
        .ok_or_else(|| Problem::not_found("booking"))
}

/// The dashboard's input from API values, in the organization's time zone.
#[allow(clippy::too_many_arguments)]
fn input(
    c: &Caller,
    resource_id: String,
    client_id: String,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    party_size: u32,
    status: String,
    notes: String,
    deposit_minor: i64,
) -> Result<BookingInput, Problem> {
    let zone = tz(&c.org);
    let (s, e) = (starts_at.with_timezone(&zone), ends_at.with_timezone(&zone));
    for (field, t) in [("starts_at", starts_at), ("ends_at", ends_at)] {
        if t.second() != 0 || t.nanosecond() != 0 {
            return Err(Problem::invalid(
                field,
                "Use whole minutes (seconds must be 00).",
            ));
        }
    }
    if ends_at <= starts_at {
        return Err(Problem::invalid(
            "ends_at",
            "ends_at must be after starts_at.",
        ));
    }
    if e.date_naive() != s.date_naive() {
        return Err(Problem::invalid(
            "ends_at",
            "A booking must end on the day it starts (in the organization's time zone).",
        ));
    }
    if deposit_minor < 0 {
        return Err(Problem::invalid(
            "deposit_minor",
            "The deposit cannot be negative.",
        ));
    }
    Ok(BookingInput {
        resource_id,
        client_id,
        date: s.format("%Y-%m-%d").to_string(),
        start_time: s.format("%H:%M").to_string(),
        end_time: e.format("%H:%M").to_string(),
        party_size: party_size.to_string(),
        status,
        notes,
        deposit: if deposit_minor == 0 {
            String::new()
        } else {
            amount_input(deposit_minor, &c.org.currency)
        },
    })
}

#[utoipa::path(get, path = "/api/v1/bookings", tag = "bookings",
    params(Cursor, BookingFilter),
    responses((status = 200, body = BookingList), (status = 400, body = ProblemBody), (status = 401, body = ProblemBody)))]
pub async fn list(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiQuery(cursor): ApiQuery<Cursor>,
    ApiQuery(f): ApiQuery<BookingFilter>,
) -> Result<Json<BookingList>, Problem> {
    let limit = cursor.limit()?;
    let mut q = booking::Entity::find().filter(booking::Column::OrganizationId.eq(&c.org.id));
    if let Some(after) = &cursor.after {
        q = q.filter(booking::Column::Id.gt(after));
    }
    if let Some(st) = &f.status {
        if app::model::booking::BookingStatus::parse(st).is_none() {
            return Err(Problem::invalid(
                "status",
                "Unknown status; use pending, confirmed, cancelled, completed or no_show.",
            ));
        }
        q = q.filter(booking::Column::Status.eq(st));
    }
    if let Some(r) = &f.resource_id {
        q = q.filter(booking::Column::ResourceId.eq(r));
    }
    if let Some(t) = f.starts_after {
        q = q.filter(booking::Column::StartsAt.gte(t));
    }
    if let Some(t) = f.starts_before {
        q = q.filter(booking::Column::StartsAt.lt(t));
    }
    let rows = q
        .order_by_asc(booking::Column::Id)
        .limit(limit + 1)
        .all(&s.platform.db)
        .await
        .map_err(|e| Problem::from(internal(e)))?;
    let (rows, next_cursor) = page::finish(rows, limit, |b| b.id.clone());
    Ok(Json(BookingList {
        data: rows.into_iter().map(|b| out(b, &c.org.currency)).collect(),
        next_cursor,
    }))
}

#[utoipa::path(get, path = "/api/v1/bookings/{id}", tag = "bookings",
    params(("id" = String, Path, description = "A `bk_` id")),
    responses((status = 200, body = Booking), (status = 404, body = ProblemBody)))]
pub async fn get(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Booking>, Problem> {
    Ok(Json(out(load(&s, &c, &id).await?, &c.org.currency)))
}

#[utoipa::path(post, path = "/api/v1/bookings", tag = "bookings",
    request_body = NewBooking,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 201, body = Booking), (status = 409, body = ProblemBody, description = "slot_taken"), (status = 422, body = ProblemBody)))]
pub async fn create(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiJson(b): ApiJson<NewBooking>,
) -> Result<(StatusCode, Json<Booking>), Problem> {
    let inp = input(
        &c,
        b.resource_id,
        b.client_id,
        b.starts_at,
        b.ends_at,
        b.party_size,
        b.status.unwrap_or_default(),
        b.notes.unwrap_or_default(),
        b.deposit_minor.unwrap_or(0),
    )?;
    let view = service(&s)
        .create(&c.user, &inp)
        .await
        .map_err(|e| Problem::from(e).rename_fields(FIELDS))?;
    let row = load(&s, &c, &view.id).await?;
    Ok((StatusCode::CREATED, Json(out(row, &c.org.currency))))
}

#[utoipa::path(patch, path = "/api/v1/bookings/{id}", tag = "bookings",
    params(("id" = String, Path, description = "A `bk_` id")),
    request_body = BookingPatch,
    responses((status = 200, body = Booking), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody, description = "slot_taken or stale_revision"), (status = 422, body = ProblemBody)))]
pub async fn update(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
    ApiJson(p): ApiJson<BookingPatch>,
) -> Result<Json<Booking>, Problem> {
    let cur = load(&s, &c, &id).await?;
    let inp = input(
        &c,
        p.resource_id.unwrap_or(cur.resource_id),
        p.client_id.unwrap_or(cur.client_id),
        p.starts_at.unwrap_or(cur.starts_at),
        p.ends_at.unwrap_or(cur.ends_at),
        p.party_size.unwrap_or(cur.party_size.max(0) as u32),
        p.status.unwrap_or(cur.status),
        p.notes.unwrap_or(cur.notes),
        p.deposit_minor.unwrap_or(cur.deposit_minor),
    )?;
    service(&s)
        .update(&c.user, &id, p.revision, &inp)
        .await
        .map_err(|e| Problem::from(e).rename_fields(FIELDS))?;
    Ok(Json(out(load(&s, &c, &id).await?, &c.org.currency)))
}

#[utoipa::path(post, path = "/api/v1/bookings/{id}/cancel", tag = "bookings",
    params(("id" = String, Path, description = "A `bk_` id")),
    request_body = Cancellation,
    responses((status = 200, body = Booking), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody)))]
pub async fn cancel(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<Cancellation>,
) -> Result<Json<Booking>, Problem> {
    service(&s)
        .cancel(
            &c.user,
            &id,
            body.revision,
            body.reason.as_deref().unwrap_or(""),
        )
        .await
        .map_err(Problem::from)?;
    Ok(Json(out(load(&s, &c, &id).await?, &c.org.currency)))
}

/// A booking's guest link: the private page where the guest manages it.
#[derive(Serialize, ToSchema)]
pub struct GuestLink {
    pub url: String,
    pub created: String,
    pub last_used: Option<String>,
}

impl From<app::model::portal::GuestLinkView> for GuestLink {
    fn from(v: app::model::portal::GuestLinkView) -> Self {
        GuestLink {
            url: v.url,
            created: v.created,
            last_used: v.last_used,
        }
    }
}

async fn booking_exists(s: &ApiState, c: &Caller, id: &str) -> Result<(), Problem> {
    load(s, c, id).await.map(|_| ())
}

#[utoipa::path(get, path = "/api/v1/bookings/{id}/guest-link", tag = "bookings",
    params(("id" = String, Path, description = "A `bk_` id")),
    responses((status = 200, body = GuestLink), (status = 404, body = ProblemBody)))]
pub async fn guest_link(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<GuestLink>, Problem> {
    use app::ports::PortalPort;
    booking_exists(&s, &c, &id).await?;
    crate::portal_service(&s.platform)
        .guest_link(&c.user, &id)
        .await
        .map_err(Problem::from)?
        .map(|l| Json(l.into()))
        .ok_or_else(|| {
            Problem::from(app::error::AppError::NotFound {
                what: "guest link for this booking (POST to create one)".into(),
            })
        })
}

#[utoipa::path(post, path = "/api/v1/bookings/{id}/guest-link", tag = "bookings",
    params(("id" = String, Path, description = "A `bk_` id")),
    responses((status = 201, body = GuestLink), (status = 404, body = ProblemBody)))]
pub async fn issue_guest_link(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> Result<(StatusCode, Json<GuestLink>), Problem> {
    use app::ports::PortalPort;
    booking_exists(&s, &c, &id).await?;
    let link = crate::portal_service(&s.platform)
        .issue_guest_link(&c.user, &id)
        .await
        .map_err(Problem::from)?;
    Ok((StatusCode::CREATED, Json(link.into())))
}

#[utoipa::path(delete, path = "/api/v1/bookings/{id}/guest-link", tag = "bookings",
    params(("id" = String, Path, description = "A `bk_` id")),
    responses((status = 204), (status = 404, body = ProblemBody)))]
pub async fn revoke_guest_link(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, Problem> {
    use app::ports::PortalPort;
    booking_exists(&s, &c, &id).await?;
    crate::portal_service(&s.platform)
        .revoke_guest_link(&c.user, &id)
        .await
        .map_err(Problem::from)?;
    Ok(StatusCode::NO_CONTENT)
}
