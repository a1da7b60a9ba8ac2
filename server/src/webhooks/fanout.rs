//! From a domain event to deliveries: inside the event's own transaction, one delivery
//! row and one job per subscribed endpoint. An organization without endpoints is known
//! from a small in-process cache, so its events cost only their own insert.
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
};
use serde_json::{Value, json};

use super::{KIND, endpoint_matches, payload};
use crate::db::entities::{webhook_delivery, webhook_endpoint};
use crate::events::Hub;
use crate::jobs::{self, NewJob};
use crate::services::ids;

/// Entity kind announced on the hub when an endpoint changes.
pub const ENDPOINT_CHANGED: &str = "webhook_endpoint";

/// How long "this organization has endpoints (or not)" is trusted without a change
/// notice. Changes in this process and (on PostgreSQL) in others clear it at once.
const TTL: Duration = Duration::from_secs(30);

static HAS_ENDPOINTS: LazyLock<Mutex<HashMap<String, (Instant, bool)>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Drops the cached answer for an organization (its endpoints changed).
pub fn forget(org_id: &str) {
    if let Ok(mut m) = HAS_ENDPOINTS.lock() {
        m.remove(org_id);
    }
}

/// Clears cached answers when another process announces an endpoint change.
pub fn watch(hub: &Hub) {
    let mut rx = hub.subscribe();
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(c) if c.entity_kind == ENDPOINT_CHANGED => forget(&c.org_id),
                Ok(_) => {}
                // Missed notices: forget everything rather than trust stale answers.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    if let Ok(mut m) = HAS_ENDPOINTS.lock() {
                        m.clear();
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

async fn has_endpoints(db: &impl ConnectionTrait, org_id: &str) -> Result<bool, DbErr> {
    if let Ok(m) = HAS_ENDPOINTS.lock()
        && let Some((at, yes)) = m.get(org_id)
        && at.elapsed() < TTL
    {
        return Ok(*yes);
    }
    let yes = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::OrganizationId.eq(org_id))
        .count(db)
        .await?
        > 0;
    if let Ok(mut m) = HAS_ENDPOINTS.lock() {
        m.insert(org_id.to_string(), (Instant::now(), yes));
    }
    Ok(yes)
}

/// Creates the deliveries of one event; returns how many (0 without subscribers).
pub async fn on_event(
    db: &impl ConnectionTrait,
    org_id: &str,
    event_id: &str,
    event_type: &str,
    at: DateTime<Utc>,
    data: &Value,
) -> Result<usize, DbErr> {
    if !has_endpoints(db, org_id).await? {
        return Ok(0);
    }
    let endpoints = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::OrganizationId.eq(org_id))
        .filter(webhook_endpoint::Column::Enabled.eq(true))
        .all(db)
        .await?;
    let mut n = 0;
    for ep in endpoints.iter().filter(|e| endpoint_matches(e, event_type)) {
        create(db, ep, event_id, event_type, at, data).await?;
        n += 1;
    }
    Ok(n)
}

/// One delivery of an event to an endpoint, and the job that sends it.
pub async fn create(
    db: &impl ConnectionTrait,
    ep: &webhook_endpoint::Model,
    event_id: &str,
    event_type: &str,
    at: DateTime<Utc>,
    data: &Value,
) -> Result<String, DbErr> {
    let format = payload::Format::parse(&ep.format).unwrap_or(payload::Format::Standard);
    let body = payload::body(format, event_id, event_type, at, data);
    let id = ids::new("whd");
    let job_id = enqueue_send(db, ep, &id).await?;
    let now = jobs::now_ms();
    webhook_delivery::Entity::insert(webhook_delivery::ActiveModel {
        id: Set(id.clone()),
        organization_id: Set(ep.organization_id.clone()),
        endpoint_id: Set(ep.id.clone()),
        event_id: Set(event_id.into()),
        event_type: Set(event_type.into()),
        body: Set(body),
        status: Set(super::status::PENDING.into()),
        attempts: Set(0),
        next_attempt_at: Set(Some(now)),
        last_status_code: Set(None),
        last_error: Set(None),
        job_id: Set(Some(job_id)),
        created_at: Set(now),
        updated_at: Set(now),
        finished_at: Set(None),
    })
    .exec_without_returning(db)
    .await?;
    Ok(id)
}

/// The job that sends one delivery, under its endpoint's in-flight cap; returns its id.
pub async fn enqueue_send(
    db: &impl ConnectionTrait,
    ep: &webhook_endpoint::Model,
    delivery_id: &str,
) -> Result<String, DbErr> {
    let job = NewJob::new(KIND, json!({ "delivery_id": delivery_id }))
        .org(&ep.organization_id)
        .limit_per(format!("webhook:{}", ep.id), ep.max_in_flight);
    jobs::enqueue_kind(db, &[job], super::JOB_MAX_ATTEMPTS, super::JOB_TIMEOUT)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| DbErr::Custom("no job id returned".into()))
}
