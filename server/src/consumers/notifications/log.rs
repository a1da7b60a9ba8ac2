//! The notification log, its statistics and the CSV exports.
use std::collections::BTreeMap;

use app::error::AppError;
use app::model::auth::{Actor, CurrentUser};
use app::model::notification::{ChannelStats, NotificationFilter, NotificationView, StatsDay};
use app::model::page::Page;
use app::ports::AppResult;
use chrono::{TimeZone, Utc};
use sea_orm::{
    ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr,
};
use serde_json::json;

use super::manage::NotificationsService;
use super::status;
use crate::db::audit;
use crate::db::entities::notification;
use crate::db::org;
use crate::platform::access::require_manager;
use crate::platform::{OrInternal, now_ms};

const PAGE_SIZE: u64 = 50;

/// A CSV cell a spreadsheet will not run as a formula.
fn cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

impl NotificationsService {
    pub(super) async fn log_page(
        &self,
        user: &CurrentUser,
        f: &NotificationFilter,
    ) -> AppResult<Page<NotificationView>> {
        require_manager(user)?;
        let tz = org::tz(&org::load(&self.db, &user.org_id).await?);
        let mut q = notification::Entity::find()
            .filter(notification::Column::OrganizationId.eq(&user.org_id));
        if let Some(s) = f.status.as_deref().filter(|s| !s.is_empty()) {
            if !status::ALL.contains(&s) {
                return Err(AppError::field("status", "Unknown status."));
            }
            q = q.filter(notification::Column::Status.eq(s));
        }
        if let Some(c) = f.channel_id.as_deref().filter(|c| !c.is_empty()) {
            q = q.filter(notification::Column::ChannelId.eq(c));
        }
        let total = q.clone().count(&self.db).await.or_internal()?;
        let page = app::model::page::clamp_page(f.page);
        let rows = q
            .order_by_desc(notification::Column::Id)
            .offset((page - 1).saturating_mul(PAGE_SIZE))
            .limit(PAGE_SIZE)
            .all(&self.db)
            .await
            .or_internal()?;
        let names = self.channel_names(&user.org_id).await?;
        Ok(Page {
            items: rows
                .into_iter()
                .map(|n| {
                    let name = names.get(&n.channel_id).cloned().unwrap_or_default();
                    Self::notification_view(n, &name, tz)
                })
                .collect(),
            page,
            per_page: PAGE_SIZE,
            total,
        })
    }

    pub(super) async fn retry_one(
        &self,
        user: &CurrentUser,
        id: &str,
    ) -> AppResult<NotificationView> {
        require_manager(user)?;
        let n = notification::Entity::find_by_id(id)
            .filter(notification::Column::OrganizationId.eq(&user.org_id))
            .one(&self.db)
            .await
            .or_internal()?
            .ok_or_else(|| AppError::not_found("notification"))?;
        if n.status != status::FAILED {
            return Err(AppError::InvalidTransition {
                detail: "Only a failed notification can be retried.".into(),
            });
        }
        let c = self.channel(user, &n.channel_id).await?;
        let job = super::send_job(&c.organization_id, &c.id, &c.kind, &n.id);
        let txn = crate::db::begin_write(&self.db).await.or_internal()?;
        notification::Entity::update_many()
            .col_expr(notification::Column::Status, Expr::value(status::PENDING))
            .col_expr(
                notification::Column::JobId,
                Expr::value(job.id.clone().unwrap_or_default()),
            )
            .col_expr(notification::Column::UpdatedAt, Expr::value(now_ms()))
            .filter(notification::Column::Id.eq(&n.id))
            .exec(&txn)
            .await
            .or_internal()?;
        crate::jobs::insert(&txn, &[job]).await.or_internal()?;
        audit::record(
            &txn,
            &Actor::from(user),
            "notification.retried",
            "notification",
            id,
            json!({}),
        )
        .await
        .or_internal()?;
        txn.commit().await.or_internal()?;
        self.hub.jobs_enqueued();
        self.one(user, id).await
    }

    pub(super) async fn compute_stats(
        &self,
        user: &CurrentUser,
        days: u32,
    ) -> AppResult<Vec<ChannelStats>> {
        require_manager(user)?;
        let o = org::load(&self.db, &user.org_id).await?;
        let tz = org::tz(&o);
        let days = days.clamp(1, 90);
        let today = Utc::now().with_timezone(&tz).date_naive();
        let first = today - chrono::Duration::days(i64::from(days) - 1);
        let since = first
            .and_hms_opt(0, 0, 0)
            .and_then(|d| tz.from_local_datetime(&d).earliest())
            .map_or(0, |d| d.timestamp_millis());
        let rows: Vec<(String, String, i64)> = notification::Entity::find()
            .select_only()
            .column(notification::Column::ChannelId)
            .column(notification::Column::Status)
            .column(notification::Column::UpdatedAt)
            .filter(notification::Column::OrganizationId.eq(&o.id))
            .filter(notification::Column::UpdatedAt.gte(since))
            .filter(notification::Column::Status.is_in([
                status::SENT,
                status::FAILED,
                status::SKIPPED,
            ]))
            .into_tuple()
            .all(&self.db)
            .await
            .or_internal()?;
        let names = self.channel_names(&o.id).await?;
        let mut out = Vec::new();
        for (cid, cname) in names {
            let mut by_day: BTreeMap<String, StatsDay> = (0..days)
                .map(|i| {
                    let d = (first + chrono::Duration::days(i64::from(i))).to_string();
                    (
                        d.clone(),
                        StatsDay {
                            day: d,
                            sent: 0,
                            failed: 0,
                            skipped: 0,
                        },
                    )
                })
                .collect();
            for (_, st, at) in rows.iter().filter(|r| r.0 == cid) {
                let day = Utc
                    .timestamp_millis_opt(*at)
                    .single()
                    .map(|t| t.with_timezone(&tz).date_naive().to_string())
                    .unwrap_or_default();
                if let Some(e) = by_day.get_mut(&day) {
                    match st.as_str() {
                        status::SENT => e.sent += 1,
                        status::FAILED => e.failed += 1,
                        _ => e.skipped += 1,
                    }
                }
            }
            out.push(ChannelStats {
                channel_id: cid,
                channel_name: cname,
                days: by_day.into_values().collect(),
            });
        }
        Ok(out)
    }

    pub(super) async fn log_csv(&self, user: &CurrentUser) -> AppResult<String> {
        require_manager(user)?;
        let tz = org::tz(&org::load(&self.db, &user.org_id).await?);
        let names = self.channel_names(&user.org_id).await?;
        let rows = notification::Entity::find()
            .filter(notification::Column::OrganizationId.eq(&user.org_id))
            .order_by_desc(notification::Column::Id)
            .limit(10_000)
            .all(&self.db)
            .await
            .or_internal()?;
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([
            "id",
            "created",
            "channel",
            "event_type",
            "recipient",
            "status",
            "attempts",
            "provider_status",
            "detail",
        ])
        .or_internal()?;
        for n in rows {
            let name = names.get(&n.channel_id).cloned().unwrap_or_default();
            let v = Self::notification_view(n, &name, tz);
            w.write_record([
                v.id,
                v.created,
                v.channel_name,
                v.event_type,
                v.recipient,
                v.status,
                v.attempts.to_string(),
                v.provider_status.map(|s| s.to_string()).unwrap_or_default(),
                cell(&v.detail),
            ])
            .or_internal()?;
        }
        String::from_utf8(w.into_inner().or_internal()?).or_internal()
    }

    pub(super) async fn stats_csv(&self, user: &CurrentUser) -> AppResult<String> {
        let stats = self.compute_stats(user, 30).await?;
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(["day", "channel", "sent", "failed", "skipped"])
            .or_internal()?;
        for c in stats {
            for d in c.days {
                w.write_record([
                    d.day,
                    cell(&c.channel_name),
                    d.sent.to_string(),
                    d.failed.to_string(),
                    d.skipped.to_string(),
                ])
                .or_internal()?;
            }
        }
        String::from_utf8(w.into_inner().or_internal()?).or_internal()
    }
}
