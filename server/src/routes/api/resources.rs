//! `/api/v1/resources`: what can be booked (a table, a room, a photographer).
use app::model::resource::OpeningHours;
use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiState;
use super::auth::Caller;
use super::page::{self, Cursor};
use super::problem::{ApiJson, ApiPath, ApiQuery, Problem, ProblemBody};
use crate::api_list;
use crate::db::entities::{booking, resource};
use crate::platform::{ids, internal};
use crate::services::org::resource_view;

/// Monday first; each day is `null` (closed) or `[open, close]` in minutes after local
/// midnight (a close up to 2880 runs past midnight).
type Hours = Vec<Option<[u16; 2]>>;

#[derive(Serialize, ToSchema)]
pub struct Resource {
    pub id: String,
    pub name: String,
    /// Guests it holds at one moment.
    pub capacity: u32,
    /// Default booking length in minutes.
    pub slot_minutes: u32,
    #[schema(value_type = Vec<Option<Vec<u16>>>)]
    pub opening_hours: Hours,
}

api_list!(ResourceList, Resource);

fn out(r: &resource::Model) -> Resource {
    let v = resource_view(r);
    Resource {
        id: v.id,
        name: v.name,
        capacity: v.capacity,
        slot_minutes: v.slot_minutes,
        opening_hours: v
            .opening_hours
            .0
            .iter()
            .map(|d| d.map(|(o, c)| [o, c]))
            .collect(),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewResource {
    pub name: String,
    pub capacity: u32,
    pub slot_minutes: Option<u32>,
    /// Defaults to every day 00:00-24:00.
    #[schema(value_type = Option<Vec<Option<Vec<u16>>>>)]
    pub opening_hours: Option<Hours>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourcePatch {
    pub name: Option<String>,
    pub capacity: Option<u32>,
    pub slot_minutes: Option<u32>,
    #[schema(value_type = Option<Vec<Option<Vec<u16>>>>)]
    pub opening_hours: Option<Hours>,
}

fn check_name(name: &str) -> Result<String, Problem> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Problem::invalid(
            "name",
            "Give the resource a name of 1 to 100 characters.",
        ));
    }
    Ok(name.into())
}

fn check_capacity(n: u32) -> Result<i32, Problem> {
    if !(1..=10_000).contains(&n) {
        return Err(Problem::invalid(
            "capacity",
            "capacity must be between 1 and 10000.",
        ));
    }
    Ok(n as i32)
}

fn check_slot(n: u32) -> Result<i32, Problem> {
    if !(5..=1440).contains(&n) {
        return Err(Problem::invalid(
            "slot_minutes",
            "slot_minutes must be between 5 and 1440.",
        ));
    }
    Ok(n as i32)
}

fn check_hours(h: &Hours) -> Result<String, Problem> {
    if h.len() != 7 {
        return Err(Problem::invalid(
            "opening_hours",
            "Give 7 days, Monday first.",
        ));
    }
    let mut days = [None; 7];
    for (i, d) in h.iter().enumerate() {
        if let Some([open, close]) = *d {
            if open >= close || close > 2880 {
                return Err(Problem::invalid(
                    &format!("opening_hours.{i}"),
                    "Each open day is [open, close] minutes with open < close <= 2880.",
                ));
            }
            days[i] = Some((open, close));
        }
    }
    serde_json::to_string(&OpeningHours(days)).map_err(|e| Problem::from(internal(e)))
}

async fn load(s: &ApiState, c: &Caller, id: &str) -> Result<resource::Model, Problem> {
    resource::Entity::find_by_id(id)
        .filter(resource::Column::OrganizationId.eq(&c.org.id))
        .one(&s.platform.db)
        .await
        .map_err(|e| Problem::from(internal(e)))?
        .ok_or_else(|| Problem::not_found("resource"))
}

#[utoipa::path(get, path = "/api/v1/resources", tag = "resources",
    params(Cursor), responses((status = 200, body = ResourceList)))]
pub async fn list(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiQuery(cursor): ApiQuery<Cursor>,
) -> Result<Json<ResourceList>, Problem> {
    let limit = cursor.limit()?;
    let mut q = resource::Entity::find().filter(resource::Column::OrganizationId.eq(&c.org.id));
    if let Some(after) = &cursor.after {
        q = q.filter(resource::Column::Id.gt(after));
    }
    let rows = q
        .order_by_asc(resource::Column::Id)
        .limit(limit + 1)
        .all(&s.platform.db)
        .await
        .map_err(|e| Problem::from(internal(e)))?;
    let (rows, next_cursor) = page::finish(rows, limit, |r| r.id.clone());
    Ok(Json(ResourceList {
        data: rows.iter().map(out).collect(),
        next_cursor,
    }))
}

#[utoipa::path(get, path = "/api/v1/resources/{id}", tag = "resources",
    params(("id" = String, Path, description = "A `res_` id")),
    responses((status = 200, body = Resource), (status = 404, body = ProblemBody)))]
pub async fn get(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Resource>, Problem> {
    Ok(Json(out(&load(&s, &c, &id).await?)))
}

#[utoipa::path(post, path = "/api/v1/resources", tag = "resources",
    request_body = NewResource,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 201, body = Resource), (status = 422, body = ProblemBody)))]
pub async fn create(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiJson(b): ApiJson<NewResource>,
) -> Result<(StatusCode, Json<Resource>), Problem> {
    let hours = b.opening_hours.unwrap_or_else(|| vec![Some([0, 1440]); 7]);
    let row = resource::ActiveModel {
        id: Set(ids::new("res")),
        organization_id: Set(c.org.id.clone()),
        name: Set(check_name(&b.name)?),
        capacity: Set(check_capacity(b.capacity)?),
        slot_minutes: Set(check_slot(b.slot_minutes.unwrap_or(60))?),
        opening_hours: Set(check_hours(&hours)?),
        lock_version: Set(0),
        created_at: Set(Utc::now()),
    }
    .insert(&s.platform.db)
    .await
    .map_err(|e| Problem::from(internal(e)))?;
    Ok((StatusCode::CREATED, Json(out(&row))))
}

#[utoipa::path(patch, path = "/api/v1/resources/{id}", tag = "resources",
    params(("id" = String, Path, description = "A `res_` id")),
    request_body = ResourcePatch,
    responses((status = 200, body = Resource), (status = 404, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn update(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
    ApiJson(p): ApiJson<ResourcePatch>,
) -> Result<Json<Resource>, Problem> {
    let cur = load(&s, &c, &id).await?;
    let mut a: resource::ActiveModel = cur.into();
    if let Some(n) = &p.name {
        a.name = Set(check_name(n)?);
    }
    if let Some(n) = p.capacity {
        a.capacity = Set(check_capacity(n)?);
    }
    if let Some(n) = p.slot_minutes {
        a.slot_minutes = Set(check_slot(n)?);
    }
    if let Some(h) = &p.opening_hours {
        a.opening_hours = Set(check_hours(h)?);
    }
    let row = a
        .update(&s.platform.db)
        .await
        .map_err(|e| Problem::from(internal(e)))?;
    Ok(Json(out(&row)))
}

#[utoipa::path(delete, path = "/api/v1/resources/{id}", tag = "resources",
    params(("id" = String, Path, description = "A `res_` id")),
    responses((status = 204), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody, description = "in_use")))]
pub async fn delete(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, Problem> {
    let r = load(&s, &c, &id).await?;
    let used = booking::Entity::find()
        .filter(booking::Column::ResourceId.eq(&r.id))
        .count(&s.platform.db)
        .await
        .map_err(|e| Problem::from(internal(e)))?;
    if used > 0 {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "in_use",
            format!("{} has {used} booking(s); it cannot be deleted.", r.name),
        ));
    }
    resource::Entity::delete_by_id(&r.id)
        .exec(&s.platform.db)
        .await
        .map_err(|e| Problem::from(internal(e)))?;
    Ok(StatusCode::NO_CONTENT)
}
