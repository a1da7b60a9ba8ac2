//! Notifications as a consumer of domain events: in the event's transaction, one
//! notification row and one job per matching rule, and reminders scheduled, moved or
//! dropped with their booking.
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use app::model::notification::REMINDER;
use app::model::platform::IntegrationAlert;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr,
    EntityTrait, QueryFilter, sea_query::Expr,
};

use super::{Deps, send_job, status};
use crate::db::entities::{notification, notification_channel, notification_rule};
use crate::events::{EventRecord, EventType, Subscriber};
use crate::jobs::{NewJob, Registry};
use crate::platform::org_cache::OrgCache;
use crate::platform::{Hub, ids, now_ms};

pub struct NotificationSubscriber {
    deps: Deps,
}

impl NotificationSubscriber {
    /// Must run inside the tokio runtime: it watches `hub` for rule changes made by
    /// other processes.
    pub fn new(hub: &Hub, deps: Deps) -> Self {
        watch(hub);
        NotificationSubscriber { deps }
    }
}

/// One notification written now (a test message), with its job.
#[allow(clippy::too_many_arguments)]
pub async fn create(
    db: &impl ConnectionTrait,
    channel: &notification_channel::Model,
    rule_id: Option<&str>,
    event_id: Option<&str>,
    event_type: &str,
    entity_id: &str,
    recipient_kind: &str,
    send_at: i64,
    scheduled_for: Option<i64>,
) -> Result<(String, NewJob), DbErr> {
    let (n, job) = row(
        channel,
        rule_id,
        event_id,
        event_type,
        entity_id,
        recipient_kind,
        send_at,
        scheduled_for,
    );
    let id = n.id.clone().take().unwrap_or_default();
    insert(db, vec![n]).await?;
    Ok((id, job))
}

/// Who is told what: an organization's enabled rules with their enabled channels.
type Targets = Arc<Vec<(notification_rule::Model, notification_channel::Model)>>;

/// Entity kind announced on the hub when rules or channels change.
pub const RULES_CHANGED: &str = "notification_rule";

/// How long an organization's rules are trusted without a change notice. Changes in
/// this process and (on PostgreSQL) in others clear them at once.
const TTL: Duration = Duration::from_secs(30);

static TARGETS: LazyLock<OrgCache<Targets>> = LazyLock::new(|| OrgCache::new(TTL));

/// Drops the cached targets of an organization (they changed).
pub fn forget(org_id: &str) {
    TARGETS.forget(org_id);
}

fn watch(hub: &Hub) {
    TARGETS.watch(hub, RULES_CHANGED);
}

async fn targets(db: &impl ConnectionTrait, org_id: &str) -> Result<Targets, DbErr> {
    if let Some(t) = TARGETS.get(org_id) {
        return Ok(t);
    }
    let rules = notification_rule::Entity::find()
        .filter(notification_rule::Column::OrganizationId.eq(org_id))
        .filter(notification_rule::Column::Enabled.eq(true))
        .all(db)
        .await?;
    let channels = if rules.is_empty() {
        Vec::new()
    } else {
        notification_channel::Entity::find()
            .filter(notification_channel::Column::OrganizationId.eq(org_id))
            .filter(notification_channel::Column::Enabled.eq(true))
            .all(db)
            .await?
    };
    let t: Targets = Arc::new(
        rules
            .into_iter()
            .filter_map(|r| {
                let c = channels.iter().find(|c| c.id == r.channel_id)?.clone();
                Some((r, c))
            })
            .collect(),
    );
    TARGETS.put(org_id, t.clone());
    Ok(t)
}

/// A notification row and its job, for the caller to write in its transaction.
#[allow(clippy::too_many_arguments)]
pub fn row(
    channel: &notification_channel::Model,
    rule_id: Option<&str>,
    event_id: Option<&str>,
    event_type: &str,
    entity_id: &str,
    recipient_kind: &str,
    send_at: i64,
    scheduled_for: Option<i64>,
) -> (notification::ActiveModel, NewJob) {
    let id = ids::new("ntf");
    let mut job = send_job(&channel.organization_id, &channel.id, &channel.kind, &id);
    let now = now_ms();
    if send_at > now {
        job.run_at = DateTime::<Utc>::from_timestamp_millis(send_at);
    }
    let row = notification::ActiveModel {
        id: Set(id),
        organization_id: Set(channel.organization_id.clone()),
        channel_id: Set(channel.id.clone()),
        rule_id: Set(rule_id.map(str::to_string)),
        event_id: Set(event_id.map(str::to_string)),
        event_type: Set(event_type.into()),
        entity_id: Set(entity_id.into()),
        recipient_kind: Set(recipient_kind.into()),
        recipient: Set(None),
        status: Set(status::PENDING.into()),
        skip_reason: Set(None),
        attempts: Set(0),
        last_error: Set(None),
        provider_status: Set(None),
        provider_response: Set(None),
        subject: Set(None),
        body: Set(None),
        send_at: Set(send_at.max(now)),
        scheduled_for: Set(scheduled_for),
        job_id: Set(job.id.clone().unwrap_or_default()),
        created_at: Set(now),
        updated_at: Set(now),
        sent_at: Set(None),
    };
    (row, job)
}

/// Writes rows in one statement.
async fn insert(
    db: &impl ConnectionTrait,
    rows: Vec<notification::ActiveModel>,
) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    notification::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Marks a booking's pending reminders skipped (moved or cancelled).
async fn drop_reminders(
    db: &impl ConnectionTrait,
    booking_id: &str,
    why: &str,
) -> Result<(), DbErr> {
    notification::Entity::update_many()
        .col_expr(notification::Column::Status, Expr::value(status::SKIPPED))
        .col_expr(notification::Column::SkipReason, Expr::value(why))
        .col_expr(notification::Column::UpdatedAt, Expr::value(now_ms()))
        .filter(notification::Column::EntityId.eq(booking_id))
        .filter(notification::Column::EventType.eq(REMINDER))
        .filter(notification::Column::Status.eq(status::PENDING))
        .exec(db)
        .await?;
    Ok(())
}

/// (Re)schedules the reminders of a booking from its event data.
async fn schedule_reminders(
    txn: &DatabaseTransaction,
    e: &EventRecord<'_>,
    rules: &[&(notification_rule::Model, notification_channel::Model)],
    rows: &mut Vec<notification::ActiveModel>,
) -> Result<Vec<NewJob>, DbErr> {
    let starts = e.data["starts_at"]
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.timestamp_millis());
    let cancelled = matches!(
        e.data["status"].as_str(),
        Some("cancelled" | "no_show" | "completed")
    );
    let mut jobs = Vec::new();
    // A booking just made has no reminders yet.
    let existing = if e.event_type == EventType::BookingCreated {
        Vec::new()
    } else {
        notification::Entity::find()
            .filter(notification::Column::EntityId.eq(e.entity_id))
            .filter(notification::Column::EventType.eq(REMINDER))
            .filter(notification::Column::Status.eq(status::PENDING))
            .all(txn)
            .await?
    };
    let Some(starts) = starts.filter(|_| !cancelled && e.event_type != EventType::BookingCancelled)
    else {
        if !existing.is_empty() {
            drop_reminders(txn, e.entity_id, "the booking was cancelled").await?;
        }
        return Ok(jobs);
    };
    // Reminders still right for the booking's start stay as they are.
    if !existing.is_empty() && existing.iter().all(|n| n.scheduled_for == Some(starts)) {
        return Ok(jobs);
    }
    if !existing.is_empty() {
        drop_reminders(
            txn,
            e.entity_id,
            "the booking moved; a new reminder replaces this one",
        )
        .await?;
    }
    let now = now_ms();
    for (rule, channel) in rules.iter().map(|t| (&t.0, &t.1)) {
        let hours = i64::from(rule.remind_hours.unwrap_or(24));
        let send_at = starts - hours * 3_600_000;
        // Booked inside the reminder window: the confirmation is the reminder.
        if send_at <= now {
            continue;
        }
        let (n, job) = row(
            channel,
            Some(&rule.id),
            Some(e.id),
            REMINDER,
            e.entity_id,
            &rule.recipient,
            send_at,
            Some(starts),
        );
        rows.push(n);
        jobs.push(job);
    }
    Ok(jobs)
}

#[async_trait]
impl Subscriber for NotificationSubscriber {
    fn name(&self) -> &'static str {
        "notifications"
    }

    fn register(&self, jobs: &mut Registry) {
        super::register(jobs, self.deps.clone());
    }

    async fn on_event(
        &self,
        txn: &DatabaseTransaction,
        e: &EventRecord<'_>,
    ) -> Result<Vec<NewJob>, DbErr> {
        // A failure report about a failure report would feed itself.
        if e.event_type == EventType::NotificationFailed
            && e.data["event_type"].as_str() == Some(EventType::NotificationFailed.as_str())
        {
            return Ok(Vec::new());
        }
        let is_booking = e.event_type.entity_kind() == "booking";
        let all = targets(txn, e.org_id).await?;
        let event_type = e.event_type.as_str();
        let mut rows = Vec::new();
        let mut jobs = Vec::new();
        let mut reminders = Vec::new();
        for t in all.iter() {
            let (rule, ch) = (&t.0, &t.1);
            if is_booking && rule.event_type == REMINDER {
                reminders.push(t);
            } else if rule.event_type == event_type {
                let (n, job) = row(
                    ch,
                    Some(&rule.id),
                    Some(e.id),
                    event_type,
                    e.entity_id,
                    &rule.recipient,
                    now_ms(),
                    None,
                );
                rows.push(n);
                jobs.push(job);
            }
        }
        // Reminders are looked after even without reminder rules: a booking that moves
        // or is cancelled drops the ones scheduled before a rule was paused.
        if is_booking {
            jobs.extend(schedule_reminders(txn, e, &reminders, &mut rows).await?);
        }
        insert(txn, rows).await?;
        Ok(jobs)
    }

    async fn alerts(
        &self,
        db: &DatabaseConnection,
        org_id: &str,
    ) -> Result<Vec<IntegrationAlert>, DbErr> {
        Ok(notification_channel::Entity::find()
            .filter(notification_channel::Column::OrganizationId.eq(org_id))
            .filter(notification_channel::Column::BrokenAt.is_not_null())
            .all(db)
            .await?
            .into_iter()
            .map(|c| IntegrationAlert {
                title: "Notification channel broken".into(),
                href: "/notifications".into(),
                subject: c.name,
                detail: format!(
                    "stopped sending. {} Reconnect it on the Notifications page.",
                    c.broken_reason.unwrap_or_default()
                ),
            })
            .collect())
    }
}
