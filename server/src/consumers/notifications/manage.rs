//! The dashboard's and the API's view of notifications (`NotificationsPort`): channels
//! with their secrets in the vault, templates checked strictly at save, rules, the log,
//! statistics and CSV exports. Every write is audited; everything is manager-only and
//! scoped to the user's organization.
use std::collections::BTreeMap;

use app::error::AppError;
use app::model::auth::{Actor, CurrentUser};
use app::model::notification::{
    ChannelInput, ChannelSettings, ChannelStats, ChannelView, NotificationFilter, NotificationView,
    Preview, RuleInput, RuleView, TemplateInput, TemplateView, family_of, kind_label,
    mask_recipient,
};
use app::model::page::Page;
use app::ports::{AppResult, NotificationsPort};
use async_trait::async_trait;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    sea_query::Expr,
};
use serde_json::json;

use super::send::{self, Send};
use super::{Deps, editing, secret_name, status, subscriber};
use crate::db::audit;
use crate::db::entities::{notification, notification_channel, notification_rule};
use crate::db::org;
use crate::platform::access::require_manager;
use crate::platform::clock::{Style, local_ms};
use crate::platform::{Hub, OrInternal, ids, now_ms};

/// Channels per organization: enough for every team and provider, not a storage sink.
const MAX_CHANNELS: u64 = 50;

pub struct NotificationsService {
    pub(super) db: DatabaseConnection,
    pub(super) hub: Hub,
    deps: Deps,
    sender: Send,
}

impl NotificationsService {
    pub fn new(db: DatabaseConnection, hub: Hub, deps: Deps) -> Self {
        NotificationsService {
            sender: Send::new(deps.clone()),
            db,
            hub,
            deps,
        }
    }

    /// Rules or channels of the organization changed: every process reads them again.
    pub(super) fn rules_changed(&self, org_id: &str) {
        subscriber::forget(org_id);
        self.hub.change(crate::platform::Change {
            org_id: org_id.into(),
            entity_kind: subscriber::RULES_CHANGED.into(),
            entity_id: String::new(),
            event_type: "notification_rules.changed".into(),
        });
    }

    pub(super) async fn channel(
        &self,
        user: &CurrentUser,
        id: &str,
    ) -> AppResult<notification_channel::Model> {
        notification_channel::Entity::find_by_id(id)
            .filter(notification_channel::Column::OrganizationId.eq(&user.org_id))
            .one(&self.db)
            .await
            .or_internal()?
            .ok_or_else(|| AppError::not_found("channel"))
    }

    async fn view(
        &self,
        c: notification_channel::Model,
        tz: chrono_tz::Tz,
    ) -> AppResult<ChannelView> {
        let sent = send::sent_this_month(&self.db, &c.id).await.or_internal()?;
        let now = now_ms();
        let (health, detail) = if let Some(reason) =
            &c.broken_reason.clone().filter(|_| c.broken_at.is_some())
        {
            ("broken", reason.clone())
        } else if c
            .monthly_quota
            .is_some_and(|q| sent >= u64::try_from(q).unwrap_or(0))
        {
            (
                "quota_reached",
                "This month's quota is used up; messages are skipped until the 1st.".to_string(),
            )
        } else if c.consecutive_failures >= super::CIRCUIT_AFTER
            && c.paused_until.is_some_and(|p| p > now)
        {
            (
                "failing",
                format!(
                    "{} failures in a row; paused for a few minutes.",
                    c.consecutive_failures
                ),
            )
        } else if c.consecutive_failures > 0 {
            (
                "degraded",
                format!(
                    "The last {} sends failed; retrying.",
                    c.consecutive_failures
                ),
            )
        } else {
            (
                "healthy",
                c.last_success_at.map_or_else(
                    || "Nothing sent yet.".to_string(),
                    |t| format!("Last sent {}.", local_ms(t, tz, Style::Short)),
                ),
            )
        };
        Ok(ChannelView {
            kind_label: kind_label(&c.kind).into(),
            family: family_of(&c.kind).unwrap_or_default().into(),
            settings: serde_json::from_str::<ChannelSettings>(&c.settings).unwrap_or_default(),
            health: health.into(),
            health_detail: detail,
            monthly_quota: c.monthly_quota.and_then(|q| u32::try_from(q).ok()),
            sent_this_month: sent,
            created: local_ms(c.created_at, tz, Style::Short),
            id: c.id,
            kind: c.kind,
            name: c.name,
            secret_hint: c.secret_hint,
            enabled: c.enabled,
        })
    }

    pub(super) fn notification_view(
        n: notification::Model,
        channel_name: &str,
        tz: chrono_tz::Tz,
    ) -> NotificationView {
        NotificationView {
            created: local_ms(n.created_at, tz, Style::StampSeconds),
            send_at: local_ms(n.send_at, tz, Style::Stamp),
            channel_name: channel_name.into(),
            recipient: match &n.recipient {
                Some(r) => r
                    .split(", ")
                    .map(mask_recipient)
                    .collect::<Vec<_>>()
                    .join(", "),
                None if n.recipient_kind == "team" => "team".into(),
                None => format!("({})", n.recipient_kind),
            },
            detail: n
                .skip_reason
                .clone()
                .or(n.last_error.clone())
                .unwrap_or_default(),
            id: n.id,
            channel_id: n.channel_id,
            event_type: n.event_type,
            status: n.status,
            attempts: n.attempts,
            provider_status: n.provider_status,
            provider_response: n.provider_response,
            subject: n.subject,
            body: n.body,
        }
    }

    pub(super) async fn channel_names(&self, org_id: &str) -> AppResult<BTreeMap<String, String>> {
        Ok(notification_channel::Entity::find()
            .filter(notification_channel::Column::OrganizationId.eq(org_id))
            .all(&self.db)
            .await
            .or_internal()?
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect())
    }

    pub(super) async fn one(&self, user: &CurrentUser, id: &str) -> AppResult<NotificationView> {
        let tz = org::tz(&org::load(&self.db, &user.org_id).await?);
        let n = notification::Entity::find_by_id(id)
            .filter(notification::Column::OrganizationId.eq(&user.org_id))
            .one(&self.db)
            .await
            .or_internal()?
            .ok_or_else(|| AppError::not_found("notification"))?;
        let names = self.channel_names(&user.org_id).await?;
        let name = names.get(&n.channel_id).cloned().unwrap_or_default();
        Ok(Self::notification_view(n, &name, tz))
    }
}

#[async_trait]
impl NotificationsPort for NotificationsService {
    async fn channels(&self, user: &CurrentUser) -> AppResult<Vec<ChannelView>> {
        require_manager(user)?;
        let tz = org::tz(&org::load(&self.db, &user.org_id).await?);
        let rows = notification_channel::Entity::find()
            .filter(notification_channel::Column::OrganizationId.eq(&user.org_id))
            .order_by_asc(notification_channel::Column::CreatedAt)
            .all(&self.db)
            .await
            .or_internal()?;
        let mut out = Vec::with_capacity(rows.len());
        for c in rows {
            out.push(self.view(c, tz).await?);
        }
        Ok(out)
    }

    async fn create_channel(
        &self,
        user: &CurrentUser,
        input: &ChannelInput,
    ) -> AppResult<ChannelView> {
        require_manager(user)?;
        input.validate(true)?;
        if matches!(input.kind.as_str(), "slack" | "discord") {
            let url = url::Url::parse(input.secret.trim())
                .map_err(|_| AppError::field("secret", "This is not a valid URL."))?;
            self.deps
                .policy
                .check_url(&url)
                .map_err(|r| AppError::field("secret", format!("Hitch may not send there: {r}")))?;
        }
        let count = notification_channel::Entity::find()
            .filter(notification_channel::Column::OrganizationId.eq(&user.org_id))
            .count(&self.db)
            .await
            .or_internal()?;
        if count >= MAX_CHANNELS {
            return Err(AppError::InvalidTransition {
                detail: format!("An organization can have up to {MAX_CHANNELS} channels."),
            });
        }
        let now = now_ms();
        let id = ids::new("nch");
        let txn = crate::db::begin_write(&self.db).await.or_internal()?;
        let hint = if input.secret.trim().is_empty() {
            String::new()
        } else {
            self.deps
                .vault
                .put(&txn, &user.org_id, &secret_name(&id), input.secret.trim())
                .await
                .or_internal()?
        };
        let row = notification_channel::Model {
            id: id.clone(),
            organization_id: user.org_id.clone(),
            kind: input.kind.clone(),
            name: input.name.trim().into(),
            settings: serde_json::to_string(&input.settings).or_internal()?,
            secret_hint: hint,
            enabled: true,
            monthly_quota: input
                .monthly_quota
                .map(|q| i32::try_from(q).unwrap_or(i32::MAX)),
            consecutive_failures: 0,
            paused_until: None,
            broken_at: None,
            broken_reason: None,
            last_success_at: None,
            last_failure_at: None,
            created_at: now,
            updated_at: now,
        };
        notification_channel::Entity::insert(notification_channel::ActiveModel::from(row.clone()))
            .exec_without_returning(&txn)
            .await
            .or_internal()?;
        editing::default_rules(&txn, &row).await.or_internal()?;
        audit::record(
            &txn,
            &Actor::from(user),
            "notification_channel.created",
            "notification_channel",
            &id,
            json!({ "kind": row.kind, "name": row.name }),
        )
        .await
        .or_internal()?;
        txn.commit().await.or_internal()?;
        self.rules_changed(&user.org_id);
        let tz = org::tz(&org::load(&self.db, &user.org_id).await?);
        self.view(row, tz).await
    }

    async fn set_channel_enabled(
        &self,
        user: &CurrentUser,
        id: &str,
        enabled: bool,
    ) -> AppResult<ChannelView> {
        require_manager(user)?;
        let c = self.channel(user, id).await?;
        let txn = crate::db::begin_write(&self.db).await.or_internal()?;
        let mut q = notification_channel::Entity::update_many()
            .col_expr(notification_channel::Column::Enabled, Expr::value(enabled))
            .col_expr(
                notification_channel::Column::UpdatedAt,
                Expr::value(now_ms()),
            );
        if enabled {
            // Turning a channel back on is the admin saying it is fixed.
            q = q
                .col_expr(
                    notification_channel::Column::BrokenAt,
                    Expr::value(Option::<i64>::None),
                )
                .col_expr(
                    notification_channel::Column::BrokenReason,
                    Expr::value(Option::<String>::None),
                )
                .col_expr(
                    notification_channel::Column::ConsecutiveFailures,
                    Expr::value(0),
                )
                .col_expr(
                    notification_channel::Column::PausedUntil,
                    Expr::value(Option::<i64>::None),
                );
        }
        q.filter(notification_channel::Column::Id.eq(&c.id))
            .exec(&txn)
            .await
            .or_internal()?;
        audit::record(
            &txn,
            &Actor::from(user),
            if enabled {
                "notification_channel.enabled"
            } else {
                "notification_channel.disabled"
            },
            "notification_channel",
            id,
            json!({}),
        )
        .await
        .or_internal()?;
        txn.commit().await.or_internal()?;
        self.rules_changed(&user.org_id);
        let tz = org::tz(&org::load(&self.db, &user.org_id).await?);
        self.view(self.channel(user, id).await?, tz).await
    }

    async fn delete_channel(&self, user: &CurrentUser, id: &str) -> AppResult<()> {
        require_manager(user)?;
        let c = self.channel(user, id).await?;
        let txn = crate::db::begin_write(&self.db).await.or_internal()?;
        notification::Entity::delete_many()
            .filter(notification::Column::ChannelId.eq(&c.id))
            .exec(&txn)
            .await
            .or_internal()?;
        notification_rule::Entity::delete_many()
            .filter(notification_rule::Column::ChannelId.eq(&c.id))
            .exec(&txn)
            .await
            .or_internal()?;
        notification_channel::Entity::delete_by_id(&c.id)
            .exec(&txn)
            .await
            .or_internal()?;
        self.deps
            .vault
            .delete(&txn, &user.org_id, &secret_name(&c.id))
            .await
            .or_internal()?;
        audit::record(
            &txn,
            &Actor::from(user),
            "notification_channel.deleted",
            "notification_channel",
            id,
            json!({ "name": c.name }),
        )
        .await
        .or_internal()?;
        txn.commit().await.or_internal()?;
        self.rules_changed(&user.org_id);
        Ok(())
    }

    async fn send_test(&self, user: &CurrentUser, id: &str) -> AppResult<NotificationView> {
        require_manager(user)?;
        let c = self.channel(user, id).await?;
        let settings: ChannelSettings = serde_json::from_str(&c.settings).unwrap_or_default();
        // Email and SMS tests go to the team address, or (email) to the person testing.
        let to = match family_of(&c.kind) {
            Some("email") if settings.team_to.is_empty() => Some(user.email.clone()),
            Some("email" | "sms") => Some(settings.team_to.clone()).filter(|t| !t.is_empty()),
            _ => None,
        };
        if family_of(&c.kind) == Some("sms") && to.is_none() {
            return Err(AppError::field(
                "team_to",
                "Set the team's number on this channel to send a test SMS.",
            ));
        }
        let txn = crate::db::begin_write(&self.db).await.or_internal()?;
        let (nid, _job) =
            subscriber::create(&txn, &c, None, None, "test", "", "team", now_ms(), None)
                .await
                .or_internal()?;
        if let Some(to) = &to {
            notification::Entity::update_many()
                .col_expr(notification::Column::Recipient, Expr::value(to.clone()))
                .filter(notification::Column::Id.eq(&nid))
                .exec(&txn)
                .await
                .or_internal()?;
        }
        txn.commit().await.or_internal()?;
        // Sent now, in this request, so the admin sees the provider's answer at once; a
        // retryable failure stays in the log with its reason.
        if let Err(e) = self.sender.process(&self.db, &self.hub, &nid).await {
            tracing::info!(channel = %c.id, reason = e.reason().as_str(), "test notification not sent at once");
            notification::Entity::update_many()
                .col_expr(notification::Column::Status, Expr::value(status::FAILED))
                .filter(notification::Column::Id.eq(&nid))
                .filter(notification::Column::Status.eq(status::PENDING))
                .exec(&self.db)
                .await
                .or_internal()?;
        }
        self.one(user, &nid).await
    }

    async fn templates(&self, user: &CurrentUser) -> AppResult<Vec<TemplateView>> {
        self.all_templates(user).await
    }

    async fn template(
        &self,
        user: &CurrentUser,
        event_type: &str,
        family: &str,
    ) -> AppResult<TemplateView> {
        self.one_template(user, event_type, family).await
    }

    async fn save_template(
        &self,
        user: &CurrentUser,
        input: &TemplateInput,
    ) -> AppResult<TemplateView> {
        self.store_template(user, input).await
    }

    async fn reset_template(
        &self,
        user: &CurrentUser,
        event_type: &str,
        family: &str,
    ) -> AppResult<TemplateView> {
        self.restore_template(user, event_type, family).await
    }

    async fn preview(&self, user: &CurrentUser, input: &TemplateInput) -> AppResult<Preview> {
        self.render_preview(user, input).await
    }

    async fn rules(&self, user: &CurrentUser) -> AppResult<Vec<RuleView>> {
        self.all_rules(user).await
    }

    async fn create_rule(&self, user: &CurrentUser, input: &RuleInput) -> AppResult<RuleView> {
        self.add_rule(user, input).await
    }

    async fn set_rule_enabled(&self, user: &CurrentUser, id: &str, enabled: bool) -> AppResult<()> {
        self.toggle_rule(user, id, enabled).await
    }

    async fn delete_rule(&self, user: &CurrentUser, id: &str) -> AppResult<()> {
        self.remove_rule(user, id).await
    }

    async fn log(
        &self,
        user: &CurrentUser,
        f: &NotificationFilter,
    ) -> AppResult<Page<NotificationView>> {
        self.log_page(user, f).await
    }

    async fn retry(&self, user: &CurrentUser, id: &str) -> AppResult<NotificationView> {
        self.retry_one(user, id).await
    }

    async fn stats(&self, user: &CurrentUser, days: u32) -> AppResult<Vec<ChannelStats>> {
        self.compute_stats(user, days).await
    }

    async fn export_log_csv(&self, user: &CurrentUser) -> AppResult<String> {
        self.log_csv(user).await
    }

    async fn export_stats_csv(&self, user: &CurrentUser) -> AppResult<String> {
        self.stats_csv(user).await
    }
}
