//! Zapier-style REST hooks: a subscription is an endpoint with `source = zapier`, one
//! event type and flat payloads. A target answering 410 unsubscribes itself.
use app::model::webhook::EndpointInput;
use app::ports::WebhooksPort;
use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::ApiState;
use super::auth::Caller;
use super::problem::{ApiJson, ApiPath, Problem, ProblemBody};
use super::webhooks::service;
use crate::consumers::webhooks::endpoints::SOURCE_ZAPIER;
use crate::consumers::webhooks::payload::{self, Format};
use crate::db::entities::webhook_endpoint;
use crate::events::EventType;
use crate::platform::internal;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Subscribe {
    /// Where Zapier wants the events (its hook URL).
    pub target_url: String,
    /// One event type, e.g. `booking.created`.
    pub event: String,
}

#[derive(Serialize, ToSchema)]
pub struct Subscription {
    pub id: String,
    pub target_url: String,
    pub event: String,
}

#[utoipa::path(post, path = "/api/v1/hooks", tag = "hooks",
    request_body = Subscribe,
    responses((status = 201, body = Subscription), (status = 422, body = ProblemBody)))]
pub async fn subscribe(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiJson(b): ApiJson<Subscribe>,
) -> Result<(StatusCode, Json<Subscription>), Problem> {
    if EventType::parse(&b.event).is_none() {
        return Err(Problem::invalid(
            "event",
            format!(
                "`{}` is not an event type; see /api/v1/event-types.",
                b.event
            ),
        ));
    }
    let input = EndpointInput {
        url: b.target_url,
        description: format!("Zapier: {}", b.event),
        event_types: vec![b.event.clone()],
        format: Format::Flat.as_str().into(),
        headers: vec![],
        rate_per_second: None,
        enabled: true,
    };
    let created = service(&s)
        .create_endpoint(&c.user, &input, SOURCE_ZAPIER)
        .await
        .map_err(|e| rename(Problem::from(e)))?;
    Ok((
        StatusCode::CREATED,
        Json(Subscription {
            id: created.endpoint.id,
            target_url: created.endpoint.url,
            event: b.event,
        }),
    ))
}

/// REST hooks name the URL `target_url`.
fn rename(mut p: Problem) -> Problem {
    if p.field.as_deref() == Some("url") {
        p.field = Some("target_url".into());
    }
    for f in &mut p.errors {
        if f.field == "url" {
            f.field = "target_url".into();
        }
    }
    p
}

#[utoipa::path(delete, path = "/api/v1/hooks/{id}", tag = "hooks",
    params(("id" = String, Path, description = "The subscription id")),
    responses((status = 204), (status = 404, body = ProblemBody)))]
pub async fn unsubscribe(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, Problem> {
    let found = webhook_endpoint::Entity::find_by_id(&id)
        .filter(webhook_endpoint::Column::OrganizationId.eq(&c.org.id))
        .filter(webhook_endpoint::Column::Source.eq(SOURCE_ZAPIER))
        .one(&s.platform.db)
        .await
        .map_err(|e| Problem::from(internal(e)))?;
    if found.is_none() {
        return Err(Problem::not_found("hook subscription"));
    }
    service(&s)
        .delete_endpoint(&c.user, &id)
        .await
        .map_err(Problem::from)?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/hooks/samples/{event_type}", tag = "hooks",
    params(("event_type" = String, Path, description = "e.g. `booking.created`")),
    responses((status = 200, body = Vec<Object>), (status = 404, body = ProblemBody)))]
pub async fn samples(ApiPath(event_type): ApiPath<String>) -> Result<Json<Vec<Value>>, Problem> {
    let t = EventType::parse(&event_type).ok_or_else(|| Problem::not_found("event type"))?;
    let body = payload::body(
        Format::Flat,
        "evt_sample",
        t.as_str(),
        Utc::now(),
        &t.sample(),
    );
    let v: Value = serde_json::from_str(&body).map_err(|e| Problem::from(internal(e)))?;
    Ok(Json(vec![v]))
}
