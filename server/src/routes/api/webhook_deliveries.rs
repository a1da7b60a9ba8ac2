//! One webhook delivery as the API shows it: its request body exactly as sent and
//! every attempt with what the receiver answered.
use std::collections::BTreeMap;

use app::model::webhook::DeliveryDetail;
use app::ports::WebhooksPort;
use axum::Json;
use axum::extract::{Extension, State};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::ApiState;
use super::auth::Caller;
use super::problem::{ApiPath, Problem, ProblemBody};
use super::webhooks::{delivery_entity, delivery_out, service};

#[derive(Serialize, ToSchema)]
pub struct Attempt {
    pub attempt: i32,
    pub started_at: String,
    pub duration_ms: i32,
    pub request_headers: BTreeMap<String, String>,
    pub status_code: Option<i32>,
    pub response_headers: BTreeMap<String, String>,
    /// At most 16 KiB.
    pub response_body: Option<String>,
    /// `timeout`, `connect`, `dns`, `tls`, `http_status`, `blocked`, `request`.
    pub error_class: Option<String>,
    pub error: Option<String>,
}

/// One delivery with its body and every attempt. Its fields are the list's, except
/// that the number of attempts is `attempt_count` here: `attempts` is the attempts.
#[derive(Serialize, ToSchema)]
pub struct DeliveryWithAttempts {
    pub id: String,
    pub endpoint_id: String,
    pub event_id: String,
    pub event_type: String,
    pub status: String,
    pub attempt_count: i32,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The request body exactly as sent.
    pub body: String,
    /// Oldest first.
    pub attempts: Vec<Attempt>,
}

#[utoipa::path(get, path = "/api/v1/webhook-deliveries/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "A `whd_` id")),
    responses((status = 200, body = DeliveryWithAttempts), (status = 404, body = ProblemBody)))]
pub async fn delivery(
    State(s): State<ApiState>,
    Extension(c): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<DeliveryWithAttempts>, Problem> {
    let d = delivery_entity(&s, &c, &id).await?;
    let DeliveryDetail { body, attempts, .. } = service(&s)
        .delivery(&c.user, &id)
        .await
        .map_err(Problem::from)?;
    let d = delivery_out(d);
    Ok(Json(DeliveryWithAttempts {
        id: d.id,
        endpoint_id: d.endpoint_id,
        event_id: d.event_id,
        event_type: d.event_type,
        status: d.status,
        attempt_count: d.attempts,
        last_status_code: d.last_status_code,
        last_error: d.last_error,
        next_attempt_at: d.next_attempt_at,
        created_at: d.created_at,
        body,
        attempts: attempts
            .into_iter()
            .map(|a| Attempt {
                attempt: a.attempt,
                started_at: a.started,
                duration_ms: a.duration_ms,
                request_headers: a.request_headers.into_iter().collect(),
                status_code: a.status_code,
                response_headers: a.response_headers.into_iter().collect(),
                response_body: a.response_body,
                error_class: a.error_class,
                error: a.error,
            })
            .collect(),
    }))
}
