//! `Idempotency-Key` on POST: the first response is stored and replayed for 24 hours;
//! the same key with a different request is refused (422), and a retry that arrives
//! while the first is still running is told so (409).
//!
//! A response may carry a secret shown once (a webhook signing secret, a guest link),
//! so the stored body is encrypted in the vault under `idempotency:<record id>`; the
//! record itself keeps only the request's hash and the status.
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, SqlErr};
use sha2::{Digest, Sha256};

use super::ApiState;
use super::auth::Caller;
use super::problem::Problem;
use crate::db::entities::{idempotency_key, secret};
use crate::platform::{ids, internal};

pub const HEADER: &str = "idempotency-key";
const KEEP_HOURS: i64 = 24;
const MAX_RESPONSE: usize = 1024 * 1024;
/// Vault names of stored responses start with this.
const VAULT_PREFIX: &str = "idempotency:";

fn vault_name(record_id: &str) -> String {
    format!("{VAULT_PREFIX}{record_id}")
}

pub async fn replay_or_record(State(state): State<ApiState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(key) = req
        .headers()
        .get(HEADER)
        .map(|v| v.to_str().map(String::from))
    else {
        return next.run(req).await;
    };
    let key = match key {
        Ok(k) if (1..=255).contains(&k.len()) => k,
        _ => {
            return Problem::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "Idempotency-Key must be 1 to 255 visible ASCII characters.",
            )
            .field("Idempotency-Key")
            .into_response();
        }
    };
    let Some(caller) = req.extensions().get::<Caller>().cloned() else {
        return next.run(req).await;
    };
    let (parts, body) = req.into_parts();
    let bytes = match to_bytes(body, state.max_body).await {
        Ok(b) => b,
        Err(_) => {
            return Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("The request body is larger than {} bytes.", state.max_body),
            )
            .into_response();
        }
    };
    let mut h = Sha256::new();
    h.update(parts.method.as_str());
    h.update(parts.uri.path());
    h.update(parts.uri.query().unwrap_or_default());
    h.update(&bytes);
    let request_hash = hex::encode(h.finalize());
    let db = &state.platform.db;

    let mut own = None;
    for _ in 0..2 {
        let id = ids::new("idem");
        let inserted = idempotency_key::Entity::insert(idempotency_key::ActiveModel {
            id: Set(id.clone()),
            api_key_id: Set(caller.key.id.clone()),
            idem_key: Set(key.clone()),
            request_hash: Set(request_hash.clone()),
            status_code: Set(0),
            response_body: Set(String::new()),
            created_at: Set(Utc::now()),
        })
        .exec_without_returning(db)
        .await;
        match inserted {
            Ok(_) => {
                own = Some(id);
                break;
            }
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {}
            Err(e) => return Problem::from(internal(e)).into_response(),
        }
        let existing = match idempotency_key::Entity::find()
            .filter(idempotency_key::Column::ApiKeyId.eq(&caller.key.id))
            .filter(idempotency_key::Column::IdemKey.eq(&key))
            .one(db)
            .await
        {
            Ok(Some(row)) => row,
            Ok(None) => continue,
            Err(e) => return Problem::from(internal(e)).into_response(),
        };
        if existing.created_at < Utc::now() - Duration::hours(KEEP_HOURS) {
            let _ = idempotency_key::Entity::delete_by_id(&existing.id)
                .exec(db)
                .await;
            continue;
        }
        if existing.request_hash != request_hash {
            return Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "This Idempotency-Key was already used with a different request. Use a new key for a new request.",
            )
            .field("Idempotency-Key")
            .into_response();
        }
        if existing.status_code == 0 {
            return Problem::new(
                StatusCode::CONFLICT,
                "idempotency_in_progress",
                "The first request with this Idempotency-Key is still being processed; retry shortly.",
            )
            .into_response();
        }
        return replay(&state, &caller, &existing).await;
    }
    let Some(own) = own else {
        return Problem::new(
            StatusCode::CONFLICT,
            "idempotency_in_progress",
            "The first request with this Idempotency-Key is still being processed; retry shortly.",
        )
        .into_response();
    };

    let res = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let (rparts, rbody) = res.into_parts();
    let rbytes = to_bytes(rbody, MAX_RESPONSE).await.unwrap_or_default();
    let status = rparts.status.as_u16();
    // Server errors are not remembered: the client may retry with the same key.
    let stored = if status >= 500 {
        idempotency_key::Entity::delete_by_id(&own)
            .exec(db)
            .await
            .map(|_| ())
    } else {
        let body = String::from_utf8_lossy(&rbytes).to_string();
        match state
            .platform
            .vault
            .put(db, &caller.org.id, &vault_name(&own), &body)
            .await
        {
            Ok(_) => idempotency_key::Entity::update_many()
                .col_expr(
                    idempotency_key::Column::StatusCode,
                    i32::from(status).into(),
                )
                .filter(idempotency_key::Column::Id.eq(&own))
                .exec(db)
                .await
                .map(|_| ()),
            // Not remembered: a retry with the key runs again rather than replaying
            // nothing.
            Err(e) => {
                tracing::warn!(error = %e, "could not encrypt an idempotent response");
                idempotency_key::Entity::delete_by_id(&own)
                    .exec(db)
                    .await
                    .map(|_| ())
            }
        }
    };
    if let Err(e) = stored {
        tracing::warn!(error = %e, "could not store an idempotent response");
    }
    Response::from_parts(rparts, Body::from(rbytes))
}

async fn replay(state: &ApiState, caller: &Caller, row: &idempotency_key::Model) -> Response {
    // Records written before bodies moved to the vault still hold theirs (for a day).
    let body = if row.response_body.is_empty() {
        match state
            .platform
            .vault
            .get(&state.platform.db, &caller.org.id, &vault_name(&row.id))
            .await
        {
            Ok(Some(secret)) => secret.expose().to_string(),
            Ok(None) => {
                return Problem::new(
                    StatusCode::CONFLICT,
                    "idempotency_record_expired",
                    "The response to this Idempotency-Key has just expired; use a new key.",
                )
                .into_response();
            }
            Err(e) => return Problem::from(internal(e)).into_response(),
        }
    } else {
        row.response_body.clone()
    };
    let status = StatusCode::from_u16(row.status_code as u16).unwrap_or(StatusCode::OK);
    let content_type = if status.is_success() {
        "application/json"
    } else {
        "application/problem+json"
    };
    let mut res = (status, body).into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res.headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    res
}

/// Deletes records past their 24 hours and their stored responses (called by the
/// hourly sweeper).
pub async fn sweep(db: &sea_orm::DatabaseConnection) -> Result<u64, sea_orm::DbErr> {
    let cutoff = Utc::now() - Duration::hours(KEEP_HOURS);
    let res = idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::CreatedAt.lt(cutoff))
        .exec(db)
        .await?;
    secret::Entity::delete_many()
        .filter(secret::Column::Name.starts_with(VAULT_PREFIX))
        .filter(secret::Column::CreatedAt.lt(cutoff))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}
