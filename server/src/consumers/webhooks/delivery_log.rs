//! The delivery log: listing and filtering deliveries, one delivery with its attempts,
//! statistics per endpoint and day, and the CSV export.
use std::collections::HashMap;

use app::error::AppError;
use app::model::auth::CurrentUser;
use app::model::page::Page;
use app::model::webhook::{
    AttemptView, DayStats, DeliveryDetail, DeliveryFilter, DeliveryView, WebhookStats,
};
use app::ports::AppResult;
use chrono::{NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};

use super::manage::WebhooksService;
use super::status;
use crate::db::entities::{webhook_attempt, webhook_delivery, webhook_endpoint};
use crate::db::org;
use crate::platform::OrInternal;
use crate::platform::clock::{Style, local_ms};

const PER_PAGE: u64 = 50;
const CSV_LIMIT: u64 = 10_000;

/// Start of a local day as epoch ms (`to` days are inclusive, so callers add one day).
pub(super) fn day_start(day: &str, tz: Tz, field: &str) -> AppResult<Option<i64>> {
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
    pub(super) async fn list_deliveries(
        &self,
        user: &CurrentUser,
        f: &DeliveryFilter,
    ) -> AppResult<Page<DeliveryView>> {
        let o = org::load(&self.db, &user.org_id).await?;
        let tz = org::tz(&o);
        let page = app::model::page::clamp_page(f.page);
        let q = self.filtered(user, f, tz).await?;
        let total = q.clone().count(&self.db).await.or_internal()?;
        let rows = q
            .offset((page - 1).saturating_mul(PER_PAGE))
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

    pub(super) async fn show_delivery(
        &self,
        user: &CurrentUser,
        id: &str,
    ) -> AppResult<DeliveryDetail> {
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
            s.and_then(|s| {
                serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(s).ok()
            })
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
                    started: local_ms(a.started_at, tz, Style::StampSeconds),
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

    pub(super) async fn compute_stats(
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

    pub(super) async fn deliveries_csv(
        &self,
        user: &CurrentUser,
        f: &DeliveryFilter,
    ) -> AppResult<String> {
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
                &local_ms(d.created_at, tz, Style::StampSeconds),
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

    pub(super) fn delivery_view(d: webhook_delivery::Model, url: &str, tz: Tz) -> DeliveryView {
        DeliveryView {
            next_attempt: (d.status == status::PENDING)
                .then_some(d.next_attempt_at)
                .flatten()
                .map(|t| local_ms(t, tz, Style::StampSeconds)),
            created: local_ms(d.created_at, tz, Style::StampSeconds),
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

    pub(super) async fn urls(&self, org_id: &str) -> AppResult<HashMap<String, String>> {
        Ok(webhook_endpoint::Entity::find()
            .filter(webhook_endpoint::Column::OrganizationId.eq(org_id))
            .all(&self.db)
            .await
            .or_internal()?
            .into_iter()
            .map(|e| (e.id, e.url))
            .collect())
    }

    pub(super) async fn filtered(
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
}
