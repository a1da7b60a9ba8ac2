//! The webhooks port: endpoints, the delivery log, replay, statistics and CSV export.
use std::collections::HashMap;

use app::error::AppError;
use app::model::auth::{Actor, CurrentUser};
use app::model::page::Page;
use app::model::webhook::{
    AttemptView, DayStats, DeliveryDetail, DeliveryFilter, DeliveryView, DisabledEndpoint,
    EndpointInput, EndpointView, EndpointWithSecret, ReplayResult, WebhookStats,
};
use app::ports::{AppResult, WebhooksPort};
use async_trait::async_trait;
use chrono::{NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, sea_query::Expr,
};
use serde_json::{Value, json};

use crate::db::entities::{event, job, webhook_attempt, webhook_delivery, webhook_endpoint};
use crate::events::{Change, EventType, Hub};
use crate::jobs::{self, now_ms};
use crate::services::{OrInternal, audit, ids, org, require_manager};
use crate::vault::{Vault, mask::mask};
use crate::webhooks::{
    endpoint_matches, endpoints, fanout, outbound::OutboundPolicy, secret_name, status,
};

/// An endpoint Hitch switched off (an admin's pause has no reason): the dashboard's
/// banner lists these, and the signed-in user's query counts them.
pub const STOPPED: &str = "NOT enabled AND disabled_reason IS NOT NULL";

const PER_PAGE: u64 = 50;
/// Deliveries one replay queues at most; run it again for the rest.
const REPLAY_LIMIT: u64 = 1000;
const CSV_LIMIT: u64 = 10_000;
pub const TEST_EVENT: &str = "webhook.test";

pub struct WebhooksService {
    pub db: DatabaseConnection,
    pub hub: Hub,
    pub vault: Vault,
    pub policy: OutboundPolicy,
}

impl WebhooksService {
    /// The service over a running platform's database, hub, vault and outbound policy.
    pub fn new(p: &crate::Platform) -> WebhooksService {
        WebhooksService {
            db: p.db.clone(),
            hub: p.hub.clone(),
            vault: p.vault.clone(),
            policy: p.outbound.clone(),
        }
    }
}

fn local(ms: i64, tz: Tz) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

fn known_types() -> Vec<String> {
    EventType::ALL
        .iter()
        .map(|t| t.as_str().to_string())
        .collect()
}

/// Start of a local day as epoch ms (`to` days are inclusive, so callers add one day).
fn day_start(day: &str, tz: Tz, field: &str) -> AppResult<Option<i64>> {
    if day.trim().is_empty() {
        return Ok(None);
    }
    let d = NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d")
        .map_err(|_| AppError::field(field, "Use a date like 2026-11-22."))?;
    let start = d
        .and_hms_opt(0, 0, 0)
        .and_then(|t| tz.from_local_datetime(&t).earliest());
    Ok(start.map(|t| t.timestamp_millis()))
}

impl WebhooksService {
    fn announce(&self, org_id: &str, id: &str, what: &str) {
        self.hub.change(Change {
            org_id: org_id.into(),
            entity_kind: fanout::ENDPOINT_CHANGED.into(),
            entity_id: id.into(),
            event_type: what.into(),
        });
    }

    async fn find(&self, user: &CurrentUser, id: &str) -> AppResult<webhook_endpoint::Model> {
        webhook_endpoint::Entity::find_by_id(id)
            .filter(webhook_endpoint::Column::OrganizationId.eq(&user.org_id))
            .one(&self.db)
            .await
            .or_internal()?
            .ok_or_else(|| AppError::not_found("webhook endpoint"))
    }

    async fn view(&self, ep: webhook_endpoint::Model, tz: Tz) -> AppResult<EndpointView> {
        let now = now_ms();
        let hint = self
            .vault
            .hint(
                &self.db,
                &ep.organization_id,
                &secret_name(&ep.id, ep.secret_version),
            )
            .await
            .or_internal()?
            .unwrap_or_default();
        let header_values: serde_json::Map<String, Value> = match self
            .vault
            .get(
                &self.db,
                &ep.organization_id,
                &crate::webhooks::headers_name(&ep.id),
            )
            .await
            .or_internal()?
        {
            Some(s) => serde_json::from_str(s.expose()).unwrap_or_default(),
            None => serde_json::Map::new(),
        };
        let headers = header_values
            .iter()
            .map(|(k, v)| (k.clone(), mask(v.as_str().unwrap_or_default())))
            .collect();
        let health = if !ep.enabled {
            "disabled"
        } else if ep.paused_until.is_some_and(|p| p > now) {
            "paused"
        } else if ep.consecutive_failures > 0 {
            "failing"
        } else {
            "healthy"
        };
        Ok(EndpointView {
            health: health.into(),
            event_types: ep
                .event_types
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or_default(),
            headers,
            rate_per_second: ep.rate_per_second.map(|r| r.max(0) as u32),
            secret_hint: hint,
            previous_secret_until: ep
                .previous_secret_until
                .filter(|u| *u > now)
                .map(|u| local(u, tz)),
            failing_since: ep.failing_since.map(|t| local(t, tz)),
            paused_until: ep.paused_until.filter(|p| *p > now).map(|t| local(t, tz)),
            created: local(ep.created_at, tz),
            id: ep.id,
            url: ep.url,
            description: ep.description,
            format: ep.format,
            enabled: ep.enabled,
            source: ep.source,
            consecutive_failures: ep.consecutive_failures,
            disabled_reason: ep.disabled_reason,
        })
    }

    fn delivery_view(d: webhook_delivery::Model, url: &str, tz: Tz) -> DeliveryView {
        DeliveryView {
            next_attempt: (d.status == status::PENDING)
                .then_some(d.next_attempt_at)
                .flatten()
                .map(|t| local(t, tz)),
            created: local(d.created_at, tz),
            created_ms: d.created_at,
            endpoint_url: url.into(),
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

    async fn urls(&self, org_id: &str) -> AppResult<HashMap<String, String>> {
        Ok(webhook_endpoint::Entity::find()
            .filter(webhook_endpoint::Column::OrganizationId.eq(org_id))
            .all(&self.db)
            .await
            .or_internal()?
            .into_iter()
            .map(|e| (e.id, e.url))
            .collect())
    }

    async fn filtered(
        &self,
        user: &CurrentUser,
        f: &DeliveryFilter,
        tz: Tz,
    ) -> AppResult<sea_orm::Select<webhook_delivery::Entity>> {
        let mut q = webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::OrganizationId.eq(&user.org_id));
        if !f.endpoint_id.is_empty() {
            q = q.filter(webhook_delivery::Column::EndpointId.eq(&f.endpoint_id));
        }
        if !f.event_type.is_empty() {
            q = q.filter(webhook_delivery::Column::EventType.eq(&f.event_type));
        }
        if !f.status.is_empty() {
            if !status::ALL.contains(&f.status.as_str()) {
                return Err(AppError::field(
                    "status",
                    "Choose pending, succeeded or failed.",
                ));
            }
            q = q.filter(webhook_delivery::Column::Status.eq(&f.status));
        }
        if let Some(from) = day_start(&f.from, tz, "from")? {
            q = q.filter(webhook_delivery::Column::CreatedAt.gte(from));
        }
        if let Some(to) = day_start(&f.to, tz, "to")? {
            q = q.filter(webhook_delivery::Column::CreatedAt.lt(to + 86_400_000));
        }
        Ok(q.order_by_desc(webhook_delivery::Column::Id))
    }

    /// Queues a delivery again: pulls its waiting job forward, or starts a new one.
    async fn requeue(
        &self,
        txn: &impl sea_orm::ConnectionTrait,
        d: &webhook_delivery::Model,
        ep: &webhook_endpoint::Model,
    ) -> AppResult<()> {
        let now = now_ms();
        let pulled = match (&d.job_id, d.status == status::PENDING) {
            (Some(job_id), true) => {
                job::Entity::update_many()
                    .col_expr(job::Column::RunAt, Expr::value(now))
                    .filter(job::Column::Id.eq(job_id))
                    .filter(job::Column::Status.eq(jobs::status::QUEUED))
                    .exec(txn)
                    .await
                    .or_internal()?
                    .rows_affected
                    > 0
            }
            _ => false,
        };
        let job_id = if pulled {
            d.job_id.clone()
        } else {
            Some(fanout::enqueue_send(txn, ep, &d.id).await.or_internal()?)
        };
        webhook_delivery::Entity::update_many()
            .col_expr(
                webhook_delivery::Column::Status,
                Expr::value(status::PENDING),
            )
            .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(now))
            .col_expr(
                webhook_delivery::Column::FinishedAt,
                Expr::value(Option::<i64>::None),
            )
            .col_expr(webhook_delivery::Column::JobId, Expr::value(job_id))
            .col_expr(webhook_delivery::Column::UpdatedAt, Expr::value(now))
            .filter(webhook_delivery::Column::Id.eq(&d.id))
            .exec(txn)
            .await
            .or_internal()?;
        Ok(())
    }

    async fn replay_window(
        &self,
        ep: &webhook_endpoint::Model,
        from_ms: i64,
        to_ms: i64,
    ) -> AppResult<ReplayResult> {
        let txn = crate::db::begin_write(&self.db).await.or_internal()?;
        let failed = webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::EndpointId.eq(&ep.id))
            .filter(webhook_delivery::Column::Status.eq(status::FAILED))
            .filter(webhook_delivery::Column::CreatedAt.gte(from_ms))
            .filter(webhook_delivery::Column::CreatedAt.lt(to_ms))
            .order_by_asc(webhook_delivery::Column::Id)
            .limit(REPLAY_LIMIT + 1)
            .all(&txn)
            .await
            .or_internal()?;
        let mut truncated = failed.len() as u64 > REPLAY_LIMIT;
        let mut requeued = 0;
        for d in failed.iter().take(REPLAY_LIMIT as usize) {
            self.requeue(&txn, d, ep).await?;
            requeued += 1;
        }
        // Events the endpoint never got (it was disabled or not yet subscribed).
        let budget = REPLAY_LIMIT.saturating_sub(requeued);
        let from = Utc
            .timestamp_millis_opt(from_ms)
            .single()
            .unwrap_or_default();
        let to = Utc.timestamp_millis_opt(to_ms).single().unwrap_or_default();
        let delivered: std::collections::HashSet<String> = webhook_delivery::Entity::find()
            .select_only()
            .column(webhook_delivery::Column::EventId)
            .filter(webhook_delivery::Column::EndpointId.eq(&ep.id))
            .filter(webhook_delivery::Column::CreatedAt.gte(from_ms))
            .into_tuple::<String>()
            .all(&txn)
            .await
            .or_internal()?
            .into_iter()
            .collect();
        let events = event::Entity::find()
            .filter(event::Column::OrganizationId.eq(&ep.organization_id))
            .filter(event::Column::OccurredAt.gte(from))
            .filter(event::Column::OccurredAt.lt(to))
            .order_by_asc(event::Column::Id)
            .limit(REPLAY_LIMIT * 2)
            .all(&txn)
            .await
            .or_internal()?;
        let mut recovered = 0;
        for e in events
            .iter()
            .filter(|e| !delivered.contains(&e.id) && endpoint_matches(ep, &e.event_type))
        {
            if recovered >= budget {
                truncated = true;
                break;
            }
            let data: Value = serde_json::from_str(&e.payload).unwrap_or(Value::Null);
            fanout::create(&txn, ep, &e.id, &e.event_type, e.occurred_at, &data)
                .await
                .or_internal()?;
            recovered += 1;
        }
        txn.commit().await.or_internal()?;
        self.hub.jobs_enqueued();
        Ok(ReplayResult {
            requeued,
            recovered,
            truncated,
        })
    }
}

#[async_trait]
impl WebhooksPort for WebhooksService {
    async fn endpoints(&self, user: &CurrentUser) -> AppResult<Vec<EndpointView>> {
        let o = org::load(&self.db, &user.org_id).await?;
        let tz = org::tz(&o);
        let rows = webhook_endpoint::Entity::find()
            .filter(webhook_endpoint::Column::OrganizationId.eq(&o.id))
            .order_by_asc(webhook_endpoint::Column::Id)
            .all(&self.db)
            .await
            .or_internal()?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(self.view(r, tz).await?);
        }
        Ok(out)
    }

    async fn endpoint(&self, user: &CurrentUser, id: &str) -> AppResult<EndpointView> {
        let o = org::load(&self.db, &user.org_id).await?;
        let ep = self.find(user, id).await?;
        self.view(ep, org::tz(&o)).await
    }

    async fn create_endpoint(
        &self,
        user: &CurrentUser,
        input: &EndpointInput,
        source: &str,
    ) -> AppResult<EndpointWithSecret> {
        require_manager(user)?;
        input.validate(&known_types())?;
        let url = endpoints::check_url(&self.policy, &input.url)?;
        let o = org::load(&self.db, &user.org_id).await?;
        let (ep, secret) =
            endpoints::create(&self.db, &self.vault, &o.id, input, &url, source).await?;
        audit::record(
            &self.db,
            &Actor::from(user),
            "webhook_endpoint.created",
            "webhook_endpoint",
            &ep.id,
            json!({"url": ep.url}),
        )
        .await
        .or_internal()?;
        self.announce(&o.id, &ep.id, "webhook_endpoint.created");
        tracing::info!(endpoint = %ep.id, by = %user.email, "webhook endpoint created");
        Ok(EndpointWithSecret {
            endpoint: self.view(ep, org::tz(&o)).await?,
            secret,
        })
    }

    async fn update_endpoint(
        &self,
        user: &CurrentUser,
        id: &str,
        input: &EndpointInput,
    ) -> AppResult<EndpointView> {
        require_manager(user)?;
        let ep = self.find(user, id).await?;
        input.validate(&known_types())?;
        let url = endpoints::check_url(&self.policy, &input.url)?;
        endpoints::update(&self.db, &self.vault, &ep, input, &url).await?;
        audit::record(
            &self.db,
            &Actor::from(user),
            "webhook_endpoint.updated",
            "webhook_endpoint",
            id,
            json!({"url": url.as_str()}),
        )
        .await
        .or_internal()?;
        self.announce(&user.org_id, id, "webhook_endpoint.updated");
        self.endpoint(user, id).await
    }

    async fn delete_endpoint(&self, user: &CurrentUser, id: &str) -> AppResult<()> {
        require_manager(user)?;
        let ep = self.find(user, id).await?;
        endpoints::delete(&self.db, &self.vault, &ep).await?;
        audit::record(
            &self.db,
            &Actor::from(user),
            "webhook_endpoint.deleted",
            "webhook_endpoint",
            id,
            json!({"url": ep.url}),
        )
        .await
        .or_internal()?;
        self.announce(&user.org_id, id, "webhook_endpoint.deleted");
        Ok(())
    }

    async fn rotate_secret(&self, user: &CurrentUser, id: &str) -> AppResult<EndpointWithSecret> {
        require_manager(user)?;
        let ep = self.find(user, id).await?;
        let secret = endpoints::rotate(&self.db, &self.vault, &ep).await?;
        audit::record(
            &self.db,
            &Actor::from(user),
            "webhook_endpoint.secret_rotated",
            "webhook_endpoint",
            id,
            json!({}),
        )
        .await
        .or_internal()?;
        tracing::info!(endpoint = %id, by = %user.email, "webhook signing secret rotated");
        Ok(EndpointWithSecret {
            endpoint: self.endpoint(user, id).await?,
            secret,
        })
    }

    async fn send_test(&self, user: &CurrentUser, id: &str) -> AppResult<DeliveryView> {
        require_manager(user)?;
        let ep = self.find(user, id).await?;
        if !ep.enabled {
            return Err(AppError::InvalidTransition {
                detail: "This endpoint is disabled. Enable it before sending a test event.".into(),
            });
        }
        let o = org::load(&self.db, &user.org_id).await?;
        let event_id = ids::new("evt");
        let data = json!({
            "message": "A test event from Hitch. If you can read this, your endpoint works.",
            "endpoint_id": ep.id,
            "organization": o.slug,
        });
        let txn = crate::db::begin_write(&self.db).await.or_internal()?;
        let did = fanout::create(&txn, &ep, &event_id, TEST_EVENT, Utc::now(), &data)
            .await
            .or_internal()?;
        txn.commit().await.or_internal()?;
        self.hub.jobs_enqueued();
        let d = webhook_delivery::Entity::find_by_id(&did)
            .one(&self.db)
            .await
            .or_internal()?
            .ok_or_else(|| AppError::not_found("delivery"))?;
        Ok(Self::delivery_view(d, &ep.url, org::tz(&o)))
    }

    async fn enable(&self, user: &CurrentUser, id: &str, replay: bool) -> AppResult<ReplayResult> {
        require_manager(user)?;
        let ep = self.find(user, id).await?;
        let since = ep.failing_since.or(ep.disabled_at);
        webhook_endpoint::Entity::update_many()
            .col_expr(webhook_endpoint::Column::Enabled, Expr::value(true))
            .col_expr(
                webhook_endpoint::Column::DisabledAt,
                Expr::value(Option::<i64>::None),
            )
            .col_expr(
                webhook_endpoint::Column::DisabledReason,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                webhook_endpoint::Column::ConsecutiveFailures,
                Expr::value(0),
            )
            .col_expr(
                webhook_endpoint::Column::FailingSince,
                Expr::value(Option::<i64>::None),
            )
            .col_expr(
                webhook_endpoint::Column::PausedUntil,
                Expr::value(Option::<i64>::None),
            )
            .col_expr(webhook_endpoint::Column::UpdatedAt, Expr::value(now_ms()))
            .filter(webhook_endpoint::Column::Id.eq(id))
            .exec(&self.db)
            .await
            .or_internal()?;
        fanout::forget(&user.org_id);
        audit::record(
            &self.db,
            &Actor::from(user),
            "webhook_endpoint.enabled",
            "webhook_endpoint",
            id,
            json!({"replay": replay}),
        )
        .await
        .or_internal()?;
        self.announce(&user.org_id, id, "webhook_endpoint.enabled");
        let fresh = self.find(user, id).await?;
        match (replay, since) {
            (true, Some(since)) => self.replay_window(&fresh, since, now_ms() + 1).await,
            _ => Ok(ReplayResult {
                requeued: 0,
                recovered: 0,
                truncated: false,
            }),
        }
    }

    async fn deliveries(
        &self,
        user: &CurrentUser,
        f: &DeliveryFilter,
    ) -> AppResult<Page<DeliveryView>> {
        let o = org::load(&self.db, &user.org_id).await?;
        let tz = org::tz(&o);
        let page = f.page.max(1);
        let q = self.filtered(user, f, tz).await?;
        let total = q.clone().count(&self.db).await.or_internal()?;
        let rows = q
            .offset((page - 1) * PER_PAGE)
            .limit(PER_PAGE)
            .all(&self.db)
            .await
            .or_internal()?;
        let urls = self.urls(&o.id).await?;
        Ok(Page {
            items: rows
                .into_iter()
                .map(|d| {
                    let url = urls.get(&d.endpoint_id).cloned().unwrap_or_default();
                    Self::delivery_view(d, &url, tz)
                })
                .collect(),
            page,
            per_page: PER_PAGE,
            total,
        })
    }

    async fn delivery(&self, user: &CurrentUser, id: &str) -> AppResult<DeliveryDetail> {
        let o = org::load(&self.db, &user.org_id).await?;
        let tz = org::tz(&o);
        let d = webhook_delivery::Entity::find_by_id(id)
            .filter(webhook_delivery::Column::OrganizationId.eq(&o.id))
            .one(&self.db)
            .await
            .or_internal()?
            .ok_or_else(|| AppError::not_found("delivery"))?;
        let attempts = webhook_attempt::Entity::find()
            .filter(webhook_attempt::Column::DeliveryId.eq(id))
            .order_by_asc(webhook_attempt::Column::Attempt)
            .all(&self.db)
            .await
            .or_internal()?;
        let pairs = |s: Option<&str>| -> Vec<(String, String)> {
            s.and_then(|s| serde_json::from_str::<serde_json::Map<String, Value>>(s).ok())
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string()))
                .collect()
        };
        let url = self
            .urls(&o.id)
            .await?
            .remove(&d.endpoint_id)
            .unwrap_or_default();
        let body = d.body.clone();
        Ok(DeliveryDetail {
            attempts: attempts
                .into_iter()
                .map(|a| AttemptView {
                    attempt: a.attempt,
                    started: local(a.started_at, tz),
                    duration_ms: a.duration_ms,
                    request_headers: pairs(Some(&a.request_headers)),
                    status_code: a.status_code,
                    response_headers: pairs(a.response_headers.as_deref()),
                    response_body: a.response_body,
                    error_class: a.error_class,
                    error: a.error,
                })
                .collect(),
            delivery: Self::delivery_view(d, &url, tz),
            body,
        })
    }

    async fn retry_delivery(&self, user: &CurrentUser, id: &str) -> AppResult<DeliveryView> {
        require_manager(user)?;
        let d = webhook_delivery::Entity::find_by_id(id)
            .filter(webhook_delivery::Column::OrganizationId.eq(&user.org_id))
            .one(&self.db)
            .await
            .or_internal()?
            .ok_or_else(|| AppError::not_found("delivery"))?;
        let ep = self.find(user, &d.endpoint_id).await?;
        if !ep.enabled {
            return Err(AppError::InvalidTransition {
                detail: "The endpoint is disabled. Enable it first (and replay what failed)."
                    .into(),
            });
        }
        if d.status == status::SUCCEEDED {
            return Err(AppError::InvalidTransition {
                detail: "This delivery already succeeded; use replay to send it again.".into(),
            });
        }
        let txn = crate::db::begin_write(&self.db).await.or_internal()?;
        self.requeue(&txn, &d, &ep).await?;
        txn.commit().await.or_internal()?;
        self.hub.jobs_enqueued();
        Ok(self.delivery(user, id).await?.delivery)
    }

    async fn replay(
        &self,
        user: &CurrentUser,
        endpoint_id: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> AppResult<ReplayResult> {
        require_manager(user)?;
        if to_ms <= from_ms {
            return Err(AppError::field(
                "to",
                "The end of the window must come after its start.",
            ));
        }
        if to_ms - from_ms > 31 * 86_400_000 {
            return Err(AppError::field("from", "Replay at most 31 days at a time."));
        }
        let ep = self.find(user, endpoint_id).await?;
        if !ep.enabled {
            return Err(AppError::InvalidTransition {
                detail: "The endpoint is disabled. Enable it first.".into(),
            });
        }
        let r = self.replay_window(&ep, from_ms, to_ms).await?;
        audit::record(
            &self.db,
            &Actor::from(user),
            "webhook_endpoint.replayed",
            "webhook_endpoint",
            endpoint_id,
            json!({"from": from_ms, "to": to_ms, "requeued": r.requeued, "recovered": r.recovered}),
        )
        .await
        .or_internal()?;
        Ok(r)
    }

    async fn replay_days(
        &self,
        user: &CurrentUser,
        endpoint_id: &str,
        from: &str,
        to: &str,
    ) -> AppResult<ReplayResult> {
        let o = org::load(&self.db, &user.org_id).await?;
        let tz = org::tz(&o);
        let from_ms = day_start(from, tz, "from")?
            .ok_or_else(|| AppError::field("from", "Choose the first day to replay."))?;
        let to_ms = day_start(to, tz, "to")?
            .ok_or_else(|| AppError::field("to", "Choose the last day to replay."))?;
        self.replay(user, endpoint_id, from_ms, to_ms + 86_400_000)
            .await
    }

    async fn stats(
        &self,
        user: &CurrentUser,
        endpoint_id: Option<&str>,
        days: u32,
    ) -> AppResult<WebhookStats> {
        let o = org::load(&self.db, &user.org_id).await?;
        let tz = org::tz(&o);
        let days = days.clamp(1, 90);
        let ids: Vec<String> = match endpoint_id {
            Some(id) => vec![self.find(user, id).await?.id],
            None => self.urls(&o.id).await?.into_keys().collect(),
        };
        let today = Utc::now().with_timezone(&tz).date_naive();
        let first = today - chrono::Duration::days(i64::from(days) - 1);
        let since = day_start(&first.to_string(), tz, "days")?.unwrap_or_default();
        let rows: Vec<(i64, i32, Option<String>)> = if ids.is_empty() {
            vec![]
        } else {
            webhook_attempt::Entity::find()
                .select_only()
                .column(webhook_attempt::Column::StartedAt)
                .column(webhook_attempt::Column::DurationMs)
                .column(webhook_attempt::Column::ErrorClass)
                .filter(webhook_attempt::Column::EndpointId.is_in(ids))
                .filter(webhook_attempt::Column::StartedAt.gte(since))
                .into_tuple()
                .all(&self.db)
                .await
                .or_internal()?
        };
        let mut by_day: std::collections::BTreeMap<String, DayStats> = (0..days)
            .map(|i| {
                let d = (first + chrono::Duration::days(i64::from(i))).to_string();
                (
                    d.clone(),
                    DayStats {
                        day: d,
                        attempts: 0,
                        succeeded: 0,
                        failed: 0,
                    },
                )
            })
            .collect();
        let mut durations: Vec<i32> = Vec::with_capacity(rows.len());
        let (mut ok, mut bad) = (0u64, 0u64);
        for (at, ms, class) in &rows {
            let day = Utc
                .timestamp_millis_opt(*at)
                .single()
                .map(|t| t.with_timezone(&tz).date_naive().to_string())
                .unwrap_or_default();
            let entry = by_day.entry(day.clone()).or_insert(DayStats {
                day,
                attempts: 0,
                succeeded: 0,
                failed: 0,
            });
            entry.attempts += 1;
            if class.is_none() {
                entry.succeeded += 1;
                ok += 1;
            } else {
                entry.failed += 1;
                bad += 1;
            }
            durations.push(*ms);
        }
        durations.sort_unstable();
        let pct = |p: f64| -> Option<u32> {
            if durations.is_empty() {
                return None;
            }
            let i = ((durations.len() as f64 - 1.0) * p).round() as usize;
            Some(durations[i].max(0) as u32)
        };
        let total = ok + bad;
        Ok(WebhookStats {
            attempts: total,
            succeeded: ok,
            failed: bad,
            success_rate: (total > 0).then(|| ok as f64 / total as f64),
            p50_ms: pct(0.50),
            p95_ms: pct(0.95),
            days: by_day.into_values().collect(),
        })
    }

    async fn export_csv(&self, user: &CurrentUser, f: &DeliveryFilter) -> AppResult<String> {
        let o = org::load(&self.db, &user.org_id).await?;
        let tz = org::tz(&o);
        let rows = self
            .filtered(user, f, tz)
            .await?
            .limit(CSV_LIMIT)
            .all(&self.db)
            .await
            .or_internal()?;
        let urls = self.urls(&o.id).await?;
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([
            "delivery_id",
            "created",
            "endpoint_id",
            "endpoint_url",
            "event_id",
            "event_type",
            "status",
            "attempts",
            "last_status_code",
            "last_error",
        ])
        .or_internal()?;
        for d in rows {
            let url = urls.get(&d.endpoint_id).cloned().unwrap_or_default();
            w.write_record([
                d.id.as_str(),
                &local(d.created_at, tz),
                &d.endpoint_id,
                &url,
                &d.event_id,
                &d.event_type,
                &d.status,
                &d.attempts.to_string(),
                &d.last_status_code
                    .map(|c| c.to_string())
                    .unwrap_or_default(),
                d.last_error.as_deref().unwrap_or_default(),
            ])
            .or_internal()?;
        }
        String::from_utf8(w.into_inner().or_internal()?).or_internal()
    }

    async fn disabled(&self, user: &CurrentUser) -> AppResult<Vec<DisabledEndpoint>> {
        Ok(webhook_endpoint::Entity::find()
            .filter(webhook_endpoint::Column::OrganizationId.eq(&user.org_id))
            .filter(Expr::cust(STOPPED))
            .all(&self.db)
            .await
            .or_internal()?
            .into_iter()
            .map(|e| DisabledEndpoint {
                id: e.id,
                url: e.url,
                reason: e.disabled_reason.unwrap_or_default(),
            })
            .collect())
    }
}
