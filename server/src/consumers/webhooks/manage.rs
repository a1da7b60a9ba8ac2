//! The webhooks port: endpoints, the delivery log, replay, statistics and CSV export.

use app::error::AppError;
use app::model::auth::{Actor, CurrentUser};
use app::model::page::Page;
use app::model::webhook::{
    DeliveryDetail, DeliveryFilter, DeliveryView, EndpointInput, EndpointView, EndpointWithSecret,
    ReplayResult, WebhookStats,
};
use app::ports::{AppResult, WebhooksPort};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use chrono_tz::Tz;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::Expr,
};
use serde_json::{Value, json};

use super::delivery_log::day_start;
use super::{endpoint_matches, endpoints, fanout, status};
use crate::db::audit;
use crate::db::entities::{event, job, webhook_delivery, webhook_endpoint};
use crate::db::org;
use crate::events::EventType;
use crate::events::{Outbox, UnitOfWork};
use crate::jobs;
use crate::platform::access::require_manager;
use crate::platform::outbound::OutboundPolicy;
use crate::platform::{Change, OrInternal, ids, now_ms};
use crate::vault::Vault;

/// An endpoint Hitch switched off (an admin's pause has no reason): the admins'
/// banner lists these (see [`super::WebhookSubscriber`]).
pub const STOPPED: &str = "NOT enabled AND disabled_reason IS NOT NULL";

/// Deliveries one replay queues at most; run it again for the rest.
const REPLAY_LIMIT: u64 = 1000;
pub const TEST_EVENT: &str = "webhook.test";

pub struct WebhooksService {
    pub db: DatabaseConnection,
    pub outbox: Outbox,
    pub vault: Vault,
    pub policy: OutboundPolicy,
    job_timeout: Duration,
}

impl WebhooksService {
    /// `request_timeout` is how long a receiver has to answer (it sizes delivery jobs).
    pub fn new(
        outbox: Outbox,
        vault: Vault,
        policy: OutboundPolicy,
        request_timeout: Duration,
    ) -> WebhooksService {
        WebhooksService {
            db: outbox.db().clone(),
            outbox,
            vault,
            policy,
            job_timeout: super::job_timeout(request_timeout),
        }
    }
}

fn known_types() -> Vec<String> {
    EventType::ALL
        .iter()
        .map(|t| t.as_str().to_string())
        .collect()
}

impl WebhooksService {
    fn announce(&self, org_id: &str, id: &str, what: &str) {
        self.outbox.hub().change(Change {
            org_id: org_id.into(),
            entity_kind: fanout::ENDPOINT_CHANGED.into(),
            entity_id: id.into(),
            event_type: what.into(),
        });
    }

    pub(super) async fn find(
        &self,
        user: &CurrentUser,
        id: &str,
    ) -> AppResult<webhook_endpoint::Model> {
        webhook_endpoint::Entity::find_by_id(id)
            .filter(webhook_endpoint::Column::OrganizationId.eq(&user.org_id))
            .one(&self.db)
            .await
            .or_internal()?
            .ok_or_else(|| AppError::not_found("webhook endpoint"))
    }

    async fn view(&self, ep: webhook_endpoint::Model, tz: Tz) -> AppResult<EndpointView> {
        super::endpoint_view::view(&self.db, &self.vault, ep, tz).await
    }

    /// Queues a delivery again: pulls its waiting job forward, or starts a new one.
    async fn requeue(
        &self,
        uow: &mut UnitOfWork,
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
                    .exec(uow.txn())
                    .await
                    .or_internal()?
                    .rows_affected
                    > 0
            }
            _ => false,
        };
        let job_id = if pulled {
            // Due now instead of later: the workers must hear of it too.
            uow.jobs_written(1);
            d.job_id.clone()
        } else {
            uow.enqueue(&[fanout::send_job(ep, &d.id, self.job_timeout)])
                .await
                .or_internal()?
                .into_iter()
                .next()
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
            .exec(uow.txn())
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
        let mut uow = self.outbox.begin().await.or_internal()?;
        let failed = webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::EndpointId.eq(&ep.id))
            .filter(webhook_delivery::Column::Status.eq(status::FAILED))
            .filter(webhook_delivery::Column::CreatedAt.gte(from_ms))
            .filter(webhook_delivery::Column::CreatedAt.lt(to_ms))
            .order_by_asc(webhook_delivery::Column::Id)
            .limit(REPLAY_LIMIT + 1)
            .all(uow.txn())
            .await
            .or_internal()?;
        let mut truncated = failed.len() as u64 > REPLAY_LIMIT;
        let mut requeued = 0;
        for d in failed.iter().take(REPLAY_LIMIT as usize) {
            self.requeue(&mut uow, d, ep).await?;
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
            .all(uow.txn())
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
            .all(uow.txn())
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
            let (_, job) = fanout::create(
                uow.txn(),
                ep,
                &e.id,
                &e.event_type,
                e.occurred_at,
                &data,
                self.job_timeout,
            )
            .await
            .or_internal()?;
            uow.enqueue(&[job]).await.or_internal()?;
            recovered += 1;
        }
        uow.commit().await.or_internal()?;
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
        let mut uow = self.outbox.begin().await.or_internal()?;
        let (did, job) = fanout::create(
            uow.txn(),
            &ep,
            &event_id,
            TEST_EVENT,
            Utc::now(),
            &data,
            self.job_timeout,
        )
        .await
        .or_internal()?;
        uow.enqueue(&[job]).await.or_internal()?;
        uow.commit().await.or_internal()?;
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
        self.list_deliveries(user, f).await
    }

    async fn delivery(&self, user: &CurrentUser, id: &str) -> AppResult<DeliveryDetail> {
        self.show_delivery(user, id).await
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
        let mut uow = self.outbox.begin().await.or_internal()?;
        self.requeue(&mut uow, &d, &ep).await?;
        uow.commit().await.or_internal()?;
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
        self.compute_stats(user, endpoint_id, days).await
    }

    async fn export_csv(&self, user: &CurrentUser, f: &DeliveryFilter) -> AppResult<String> {
        self.deliveries_csv(user, f).await
    }
}
