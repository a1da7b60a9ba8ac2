//! `/api/v1/events` and `/api/v1/event-types`: the organization's domain events and the
//! catalog of event types (from `events::catalog`, the one list).
use axum::Json;
use axum::extract::{Extension, State};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiState;
use super::auth::Caller;
use super::page::{self, Cursor};
use super::problem::{ApiPath, ApiQuery, Problem, ProblemBody};
use crate::api_list;
use crate::db::entities::event;
use crate::events::EventType;
use crate::platform::internal;

#[derive(Serialize, ToSchema)]
pub struct Event {
    /// `evt_...`, stable: receivers deduplicate on it.
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub occurred_at: DateTime<Utc>,
    /// Version of the `data` shape.
    pub schema_version: i32,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

api_list!(EventList, Event);

#[derive(Serialize, ToSchema)]
pub struct EventTypeInfo {
    pub name: String,
    pub description: String,
    pub schema_version: i32,
    #[schema(value_type = Object)]
    pub sample: serde_json::Value,
}

#[derive(Serialize, ToSchema)]
pub struct EventTypeList {
    pub data: Vec<EventTypeInfo>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventFilter {
    /// Only this type, e.g. `booking.created`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub event_type: Option<String>,
}

fn out(e: event::Model) -> Event {
    Event {
        data: serde_json::from_str(&e.payload).unwrap_or(serde_json::Value::Null),
        id: e.id,
        event_type: e.event_type,
        occurred_at: e.occurred_at,
        schema_version: e.schema_version,
    }
}

#[utoipa::path(get, path = "/api/v1/events", tag = "events",
    params(Cursor, EventFilter), responses((status = 200, body = EventList)))]
pub async fn list(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiQuery(cursor): ApiQuery<Cursor>,
    ApiQuery(f): ApiQuery<EventFilter>,
) -> Result<Json<EventList>, Problem> {
    let limit = cursor.limit()?;
    let mut q = event::Entity::find().filter(event::Column::OrganizationId.eq(&c.org.id));
    if let Some(after) = &cursor.after {
        q = q.filter(event::Column::Id.gt(after));
    }
    if let Some(t) = &f.event_type {
        if EventType::parse(t).is_none() {
            return Err(Problem::invalid(
                "type",
                "Unknown event type; see /api/v1/event-types.",
            ));
        }
        q = q.filter(event::Column::EventType.eq(t));
    }
    let rows = q
        .order_by_asc(event::Column::Id)
        .limit(limit + 1)
        .all(&s.platform.db)
        .await
        .map_err(|e| Problem::from(internal(e)))?;
    let (rows, next_cursor) = page::finish(rows, limit, |r| r.id.clone());
    Ok(Json(EventList {
        data: rows.into_iter().map(out).collect(),
        next_cursor,
    }))
}

#[utoipa::path(get, path = "/api/v1/events/{id}", tag = "events",
    params(("id" = String, Path, description = "An `evt_` id")),
    responses((status = 200, body = Event), (status = 404, body = ProblemBody)))]
pub async fn get(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Event>, Problem> {
    event::Entity::find_by_id(&id)
        .filter(event::Column::OrganizationId.eq(&c.org.id))
        .one(&s.platform.db)
        .await
        .map_err(|e| Problem::from(internal(e)))?
        .map(|e| Json(out(e)))
        .ok_or_else(|| Problem::not_found("event"))
}

#[utoipa::path(get, path = "/api/v1/event-types", tag = "events",
    responses((status = 200, body = EventTypeList)))]
pub async fn types() -> Json<EventTypeList> {
    Json(EventTypeList {
        data: EventType::ALL
            .iter()
            .map(|t| EventTypeInfo {
                name: t.as_str().into(),
                description: t.description().into(),
                schema_version: crate::events::catalog::SCHEMA_VERSION,
                sample: t.sample(),
            })
            .collect(),
    })
}
