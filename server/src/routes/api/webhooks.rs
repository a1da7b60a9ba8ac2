//! `/api/v1/webhook-endpoints` and `/api/v1/webhook-deliveries`: manage endpoints, read
//! the delivery log, retry and replay. Secrets appear whole only when created or rotated.
use std::collections::BTreeMap;

use app::model::webhook::{EndpointInput, EndpointView, ReplayResult};
use app::ports::WebhooksPort;
use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use chrono::{DateTime, TimeZone, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiState;
use super::auth::Caller;
use super::page::{self, Cursor};
use super::problem::{ApiJson, ApiPath, ApiQuery, Problem, ProblemBody};
use crate::api_list;
use crate::consumers::webhooks::endpoints::SOURCE_API;
use crate::consumers::webhooks::manage::WebhooksService;
use crate::db::entities::{webhook_delivery, webhook_endpoint};
use crate::platform::internal;

fn ms(t: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(t).single().unwrap_or_default()
}

#[derive(Serialize, ToSchema)]
pub struct WebhookEndpoint {
    pub id: String,
    pub url: String,
    pub description: String,
    /// The event types sent; empty means every type.
    pub event_types: Vec<String>,
    /// `standard` or `flat`.
    pub format: String,
    /// Custom header names with masked values.
    pub headers: BTreeMap<String, String>,
    pub rate_per_second: Option<u32>,
    pub enabled: bool,
    /// `dashboard`, `api` or `zapier`.
    pub source: String,
    /// `healthy`, `failing`, `paused` (circuit open) or `disabled`.
    pub health: String,
    pub consecutive_failures: i32,
    pub disabled_reason: Option<String>,
    /// Deliveries sent at once now: adapted to how fast the receiver answers, cut on
    /// 429, 5xx, timeouts and slowing answers.
    pub in_flight_limit: i32,
    /// The last cut in the past day and why ("429 Too Many Requests ...").
    pub eased_off_reason: Option<String>,
    /// The signing secret, masked.
    pub secret_hint: String,
    /// While a rotation overlaps, when the previous secret stops signing.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// An endpoint with its whole signing secret: answered once, on create and rotate.
#[derive(Serialize, ToSchema)]
pub struct WebhookEndpointWithSecret {
    #[serde(flatten)]
    pub endpoint: WebhookEndpoint,
    /// `whsec_...`: keep it; it is never shown again.
    pub secret: String,
}

api_list!(WebhookEndpointList, WebhookEndpoint);

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhookEndpoint {
    pub url: String,
    pub description: Option<String>,
    /// Omit or leave empty for every type.
    pub event_types: Option<Vec<String>>,
    /// `standard` (default) or `flat`.
    pub format: Option<String>,
    /// Extra request headers, e.g. the receiver's own token.
    pub headers: Option<BTreeMap<String, String>>,
    pub rate_per_second: Option<u32>,
    pub enabled: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpointPatch {
    pub url: Option<String>,
    pub description: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub format: Option<String>,
    /// Replaces every custom header; a masked value sent back keeps the stored one.
    pub headers: Option<BTreeMap<String, String>>,
    /// `null` removes the limit.
    #[serde(default, deserialize_with = "serde_with_none::deserialize")]
    pub rate_per_second: Option<Option<u32>>,
    pub enabled: Option<bool>,
}

/// `Option<Option<T>>` that tells "absent" from `null`.
mod serde_with_none {
    use serde::{Deserialize, Deserializer};
    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Ok(Some(Option::deserialize(d)?))
    }
}

#[derive(Serialize, ToSchema)]
pub struct Delivery {
    pub id: String,
    pub endpoint_id: String,
    /// Also the `webhook-id` header; stable across retries.
    pub event_id: String,
    pub event_type: String,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    pub attempts: i32,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

api_list!(DeliveryList, Delivery);

#[derive(Serialize, ToSchema)]
pub struct Replay {
    /// Failed deliveries queued again.
    pub requeued: u64,
    /// Events the endpoint never received, now queued.
    pub recovered: u64,
    /// More remained than one replay takes (1,000); call again.
    pub truncated: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnableRequest {
    /// Also queue everything that failed or was missed since the endpoint broke.
    #[serde(default)]
    pub replay: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    pub endpoint_id: Option<String>,
    pub event_type: Option<String>,
    /// `pending`, `succeeded` or `failed`.
    pub status: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// Days back, 1 to 90 (default 14).
    #[param(minimum = 1, maximum = 90)]
    pub days: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct StatsDay {
    pub day: String,
    pub attempts: u64,
    pub succeeded: u64,
    pub failed: u64,
}

#[derive(Serialize, ToSchema)]
pub struct Stats {
    pub attempts: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub success_rate: Option<f64>,
    pub p50_ms: Option<u32>,
    pub p95_ms: Option<u32>,
    pub days: Vec<StatsDay>,
}

pub(crate) fn service(s: &ApiState) -> WebhooksService {
    crate::webhooks_service(&s.platform)
}

async fn entity(s: &ApiState, c: &Caller, id: &str) -> Result<webhook_endpoint::Model, Problem> {
    webhook_endpoint::Entity::find_by_id(id)
        .filter(webhook_endpoint::Column::OrganizationId.eq(&c.org.id))
        .one(&s.platform.db)
        .await
        .map_err(|e| Problem::from(internal(e)))?
        .ok_or_else(|| Problem::not_found("webhook endpoint"))
}

pub(crate) async fn out(
    s: &ApiState,
    c: &Caller,
    v: EndpointView,
) -> Result<WebhookEndpoint, Problem> {
    let e = entity(s, c, &v.id).await?;
    Ok(WebhookEndpoint {
        previous_secret_expires_at: e
            .previous_secret_until
            .filter(|u| *u > crate::platform::now_ms())
            .map(ms),
        created_at: ms(e.created_at),
        id: v.id,
        url: v.url,
        description: v.description,
        event_types: v.event_types,
        format: v.format,
        headers: v.headers.into_iter().collect(),
        rate_per_second: v.rate_per_second,
        enabled: v.enabled,
        source: v.source,
        health: v.health,
        consecutive_failures: v.consecutive_failures,
        disabled_reason: v.disabled_reason,
        in_flight_limit: v.in_flight_limit,
        eased_off_reason: v.eased_off.map(|x| x.reason),
        secret_hint: v.secret_hint,
    })
}

pub(super) fn delivery_out(d: webhook_delivery::Model) -> Delivery {
    Delivery {
        next_attempt_at: (d.status == crate::consumers::webhooks::status::PENDING)
            .then_some(d.next_attempt_at)
            .flatten()
            .map(ms),
        created_at: ms(d.created_at),
        id: d.id,
        endpoint_id: d.endpoint_id,
        event_id: d.event_id,
        event_type: d.event_type,
        status: d.status,
        attempts: d.attempts,
        last_status_code: d.last_status_code,
        last_error: d.last_error,
    }
}

pub(super) async fn delivery_entity(
    s: &ApiState,
    c: &Caller,
    id: &str,
) -> Result<webhook_delivery::Model, Problem> {
    webhook_delivery::Entity::find_by_id(id)
        .filter(webhook_delivery::Column::OrganizationId.eq(&c.org.id))
        .one(&s.platform.db)
        .await
        .map_err(|e| Problem::from(internal(e)))?
        .ok_or_else(|| Problem::not_found("delivery"))
}

#[utoipa::path(get, path = "/api/v1/webhook-endpoints", tag = "webhooks",
    responses((status = 200, body = WebhookEndpointList), (status = 401, body = ProblemBody)))]
pub async fn list(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
) -> Result<Json<WebhookEndpointList>, Problem> {
    let views = service(&s)
        .endpoints(&c.user)
        .await
        .map_err(Problem::from)?;
    let mut data = Vec::with_capacity(views.len());
    for v in views {
        data.push(out(&s, &c, v).await?);
    }
    Ok(Json(WebhookEndpointList {
        data,
        next_cursor: None,
    }))
}

#[utoipa::path(post, path = "/api/v1/webhook-endpoints", tag = "webhooks",
    request_body = NewWebhookEndpoint,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 201, body = WebhookEndpointWithSecret), (status = 422, body = ProblemBody)))]
pub async fn create(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiJson(b): ApiJson<NewWebhookEndpoint>,
) -> Result<(StatusCode, Json<WebhookEndpointWithSecret>), Problem> {
    let input = EndpointInput {
        url: b.url,
        description: b.description.unwrap_or_default(),
        event_types: b.event_types.unwrap_or_default(),
        format: b.format.unwrap_or_else(|| "standard".into()),
        headers: b.headers.unwrap_or_default().into_iter().collect(),
        rate_per_second: b.rate_per_second,
        enabled: b.enabled.unwrap_or(true),
    };
    let created = service(&s)
        .create_endpoint(&c.user, &input, SOURCE_API)
        .await
        .map_err(Problem::from)?;
    Ok((
        StatusCode::CREATED,
        Json(WebhookEndpointWithSecret {
            endpoint: out(&s, &c, created.endpoint).await?,
            secret: created.secret,
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/webhook-endpoints/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "A `whe_` id")),
    responses((status = 200, body = WebhookEndpoint), (status = 404, body = ProblemBody)))]
pub async fn get(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<WebhookEndpoint>, Problem> {
    let v = service(&s)
        .endpoint(&c.user, &id)
        .await
        .map_err(Problem::from)?;
    Ok(Json(out(&s, &c, v).await?))
}

#[utoipa::path(patch, path = "/api/v1/webhook-endpoints/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "A `whe_` id")),
    request_body = WebhookEndpointPatch,
    responses((status = 200, body = WebhookEndpoint), (status = 404, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn update(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
    ApiJson(p): ApiJson<WebhookEndpointPatch>,
) -> Result<Json<WebhookEndpoint>, Problem> {
    let svc = service(&s);
    let cur = svc.endpoint(&c.user, &id).await.map_err(Problem::from)?;
    let input = EndpointInput {
        url: p.url.unwrap_or(cur.url),
        description: p.description.unwrap_or(cur.description),
        event_types: p.event_types.unwrap_or(cur.event_types),
        format: p.format.unwrap_or(cur.format),
        headers: p.headers.map_or(cur.headers, |h| h.into_iter().collect()),
        rate_per_second: p.rate_per_second.unwrap_or(cur.rate_per_second),
        enabled: p.enabled.unwrap_or(cur.enabled),
    };
    let v = svc
        .update_endpoint(&c.user, &id, &input)
        .await
        .map_err(Problem::from)?;
    Ok(Json(out(&s, &c, v).await?))
}

#[utoipa::path(delete, path = "/api/v1/webhook-endpoints/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "A `whe_` id")),
    responses((status = 204), (status = 404, body = ProblemBody)))]
pub async fn delete(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, Problem> {
    service(&s)
        .delete_endpoint(&c.user, &id)
        .await
        .map_err(Problem::from)?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/webhook-endpoints/{id}/rotate-secret", tag = "webhooks",
    params(("id" = String, Path, description = "A `whe_` id")),
    responses((status = 200, body = WebhookEndpointWithSecret), (status = 404, body = ProblemBody)))]
pub async fn rotate_secret(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<WebhookEndpointWithSecret>, Problem> {
    let r = service(&s)
        .rotate_secret(&c.user, &id)
        .await
        .map_err(Problem::from)?;
    Ok(Json(WebhookEndpointWithSecret {
        endpoint: out(&s, &c, r.endpoint).await?,
        secret: r.secret,
    }))
}

#[utoipa::path(post, path = "/api/v1/webhook-endpoints/{id}/test", tag = "webhooks",
    params(("id" = String, Path, description = "A `whe_` id")),
    responses((status = 202, body = Delivery), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody)))]
pub async fn send_test(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> Result<(StatusCode, Json<Delivery>), Problem> {
    let d = service(&s)
        .send_test(&c.user, &id)
        .await
        .map_err(Problem::from)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(delivery_out(delivery_entity(&s, &c, &d.id).await?)),
    ))
}

fn replay_out(r: ReplayResult) -> Replay {
    Replay {
        requeued: r.requeued,
        recovered: r.recovered,
        truncated: r.truncated,
    }
}

#[utoipa::path(post, path = "/api/v1/webhook-endpoints/{id}/enable", tag = "webhooks",
    params(("id" = String, Path, description = "A `whe_` id")),
    request_body = EnableRequest,
    responses((status = 200, body = Replay), (status = 404, body = ProblemBody)))]
pub async fn enable(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
    ApiJson(b): ApiJson<EnableRequest>,
) -> Result<Json<Replay>, Problem> {
    let r = service(&s)
        .enable(&c.user, &id, b.replay)
        .await
        .map_err(Problem::from)?;
    Ok(Json(replay_out(r)))
}

#[utoipa::path(post, path = "/api/v1/webhook-endpoints/{id}/replay", tag = "webhooks",
    params(("id" = String, Path, description = "A `whe_` id")),
    request_body = ReplayRequest,
    responses((status = 200, body = Replay), (status = 404, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn replay(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
    ApiJson(b): ApiJson<ReplayRequest>,
) -> Result<Json<Replay>, Problem> {
    let r = service(&s)
        .replay(
            &c.user,
            &id,
            b.from.timestamp_millis(),
            b.to.timestamp_millis(),
        )
        .await
        .map_err(Problem::from)?;
    Ok(Json(replay_out(r)))
}

#[utoipa::path(get, path = "/api/v1/webhook-endpoints/{id}/stats", tag = "webhooks",
    params(("id" = String, Path, description = "A `whe_` id"), StatsQuery),
    responses((status = 200, body = Stats), (status = 404, body = ProblemBody)))]
pub async fn stats(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> Result<Json<Stats>, Problem> {
    let st = service(&s)
        .stats(&c.user, Some(&id), stats_days(q.days)?)
        .await
        .map_err(Problem::from)?;
    Ok(Json(Stats {
        attempts: st.attempts,
        succeeded: st.succeeded,
        failed: st.failed,
        success_rate: st.success_rate,
        p50_ms: st.p50_ms,
        p95_ms: st.p95_ms,
        days: st
            .days
            .into_iter()
            .map(|d| StatsDay {
                day: d.day,
                attempts: d.attempts,
                succeeded: d.succeeded,
                failed: d.failed,
            })
            .collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/webhook-deliveries", tag = "webhooks",
    params(Cursor, DeliveryQuery),
    responses((status = 200, body = DeliveryList), (status = 422, body = ProblemBody)))]
pub async fn deliveries(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiQuery(cursor): ApiQuery<Cursor>,
    ApiQuery(f): ApiQuery<DeliveryQuery>,
) -> Result<Json<DeliveryList>, Problem> {
    let limit = cursor.limit()?;
    let mut q = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::OrganizationId.eq(&c.org.id));
    if let Some(after) = &cursor.after {
        q = q.filter(webhook_delivery::Column::Id.gt(after));
    }
    if let Some(e) = &f.endpoint_id {
        q = q.filter(webhook_delivery::Column::EndpointId.eq(e));
    }
    if let Some(t) = &f.event_type {
        q = q.filter(webhook_delivery::Column::EventType.eq(t));
    }
    if let Some(st) = &f.status {
        if !crate::consumers::webhooks::status::ALL.contains(&st.as_str()) {
            return Err(Problem::invalid(
                "status",
                "status must be pending, succeeded or failed.",
            ));
        }
        q = q.filter(webhook_delivery::Column::Status.eq(st));
    }
    let rows = q
        .order_by_asc(webhook_delivery::Column::Id)
        .limit(limit + 1)
        .all(&s.platform.db)
        .await
        .map_err(|e| Problem::from(internal(e)))?;
    let (rows, next_cursor) = page::finish(rows, limit, |r| r.id.clone());
    Ok(Json(DeliveryList {
        data: rows.into_iter().map(delivery_out).collect(),
        next_cursor,
    }))
}

#[utoipa::path(post, path = "/api/v1/webhook-deliveries/{id}/retry", tag = "webhooks",
    params(("id" = String, Path, description = "A `whd_` id")),
    responses((status = 202, body = Delivery), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody)))]
pub async fn retry(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> Result<(StatusCode, Json<Delivery>), Problem> {
    service(&s)
        .retry_delivery(&c.user, &id)
        .await
        .map_err(Problem::from)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(delivery_out(delivery_entity(&s, &c, &id).await?)),
    ))
}

/// The stats window asked for: 1 to 90 days, 14 when not given.
fn stats_days(days: Option<u32>) -> Result<u32, Problem> {
    match days {
        None => Ok(14),
        Some(d) if (1..=90).contains(&d) => Ok(d),
        Some(_) => Err(Problem::invalid("days", "days must be between 1 and 90.")),
    }
}
