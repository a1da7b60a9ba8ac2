//! From a domain event to deliveries: inside the event's own transaction, one delivery
//! row and one job per subscribed endpoint. An organization without endpoints is known
//! from a small in-process cache, so its events cost only their own insert.
use std::sync::LazyLock;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
};
use serde_json::{Value, json};

use super::{KIND, endpoint_matches, payload};
use crate::db::entities::{webhook_delivery, webhook_endpoint};
use crate::jobs::NewJob;
use crate::platform::org_cache::OrgCache;
use crate::platform::{Hub, ids, now_ms};

/// Entity kind announced on the hub when an endpoint changes.
pub const ENDPOINT_CHANGED: &str = "webhook_endpoint";

/// How long "this organization has endpoints (or not)" is trusted without a change
/// notice. Changes in this process and (on PostgreSQL) in others clear it at once.
const TTL: Duration = Duration::from_secs(30);

static HAS_ENDPOINTS: LazyLock<OrgCache<bool>> = LazyLock::new(|| OrgCache::new(TTL));

/// Drops the cached answer for an organization (its endpoints changed).
pub fn forget(org_id: &str) {
    HAS_ENDPOINTS.forget(org_id);
}

/// Clears cached answers when another process announces an endpoint change.
pub fn watch(hub: &Hub) {
    HAS_ENDPOINTS.watch(hub, ENDPOINT_CHANGED);
}

async fn has_endpoints(db: &impl ConnectionTrait, org_id: &str) -> Result<bool, DbErr> {
    if let Some(yes) = HAS_ENDPOINTS.get(org_id) {
        return Ok(yes);
    }
    let yes = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::OrganizationId.eq(org_id))
        .count(db)
        .await?
        > 0;
    HAS_ENDPOINTS.put(org_id, yes);
    Ok(yes)
}

/// The deliveries of one event, one per subscribed endpoint, written on `db` (the
/// event's transaction); returns their jobs for the caller to enqueue with it. An
/// organization without endpoints costs no query here.
pub async fn on_event(
    db: &impl ConnectionTrait,
    org_id: &str,
    event_id: &str,
    event_type: &str,
    at: DateTime<Utc>,
    data: &Value,
    job_timeout: Duration,
) -> Result<Vec<NewJob>, DbErr> {
    if !has_endpoints(db, org_id).await? {
        return Ok(Vec::new());
    }
    let endpoints = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::OrganizationId.eq(org_id))
        .filter(webhook_endpoint::Column::Enabled.eq(true))
        .all(db)
        .await?;
    let mut jobs = Vec::new();
    for ep in endpoints.iter().filter(|e| endpoint_matches(e, event_type)) {
        jobs.push(
            create(db, ep, event_id, event_type, at, data, job_timeout)
                .await?
                .1,
        );
    }
    Ok(jobs)
}

/// One delivery of an event to an endpoint; returns its id and the job that sends it,
/// which the caller enqueues in the same transaction.
pub async fn create(
    db: &impl ConnectionTrait,
    ep: &webhook_endpoint::Model,
    event_id: &str,
    event_type: &str,
    at: DateTime<Utc>,
    data: &Value,
    job_timeout: Duration,
) -> Result<(String, NewJob), DbErr> {
    let format = payload::Format::parse(&ep.format).unwrap_or(payload::Format::Standard);
    let body = payload::body(format, event_id, event_type, at, data);
    let id = ids::new("whd");
    let job = send_job(ep, &id, job_timeout);
    let now = now_ms();
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
        job_id: Set(job.id.clone()),
        created_at: Set(now),
        updated_at: Set(now),
        finished_at: Set(None),
    })
    .exec_without_returning(db)
    .await?;
    Ok((id, job))
}

/// The job that sends one delivery, under its endpoint's in-flight cap. Its id is
/// fixed here so the delivery row can name it; `job_timeout` is [`super::job_timeout`].
pub fn send_job(ep: &webhook_endpoint::Model, delivery_id: &str, job_timeout: Duration) -> NewJob {
    NewJob::new(KIND, json!({ "delivery_id": delivery_id }))
        .with_new_id()
        .org(&ep.organization_id)
        // The key's adapted limit overrides this one once the endpoint has answered.
        .limit_per(super::lane_key(&ep.id), super::pacing::START as i32)
        .limits(super::JOB_MAX_ATTEMPTS, job_timeout)
}
