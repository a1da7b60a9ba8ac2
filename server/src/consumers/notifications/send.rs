//! The `notify.send` job: checks that the message is still wanted (channel on, quota
//! left, reminder still right), renders it, claims it, sends it, and records what the
//! provider said, moving the channel's health on. A message is claimed (`sending`)
//! before the provider is called: if the process dies mid-call, the message is marked
//! unknown instead of sent twice.
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use app::model::notification::{ChannelSettings, REMINDER, family_of};
use async_trait::async_trait;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait},
};
use serde_json::json;

use super::channels::{self, Message, Outcome, Verdict};
use super::context::{self, Built};
pub use super::prepare::sent_this_month;
use super::prepare::{compose, recipients, reminder_unwanted, template, test_context};
use super::{CIRCUIT_AFTER, CIRCUIT_OPEN, Deps, MAX_SENDS, status};
use crate::db::entities::{notification, notification_channel, organization};
use crate::events::EventType;
use crate::jobs::{Handler, JobContext, JobError, Reason};
use crate::platform::{Change, Hub, now_ms};

pub struct Send {
    deps: Deps,
    client: reqwest::Client,
    /// Per Slack channel: when the next message may go (about one per second).
    pacing: Mutex<HashMap<String, Instant>>,
}

const SLACK_GAP: Duration = Duration::from_secs(1);

impl Send {
    pub fn new(deps: Deps) -> Send {
        Send {
            client: deps.policy.client(Duration::from_secs(20)),
            deps,
            pacing: Mutex::new(HashMap::new()),
        }
    }

    fn slack_wait(&self, channel_id: &str) -> Option<Duration> {
        let mut m = self.pacing.lock().ok()?;
        let now = Instant::now();
        match m.get(channel_id) {
            Some(next) if *next > now => Some(*next - now),
            _ => {
                m.insert(channel_id.to_string(), now + SLACK_GAP);
                None
            }
        }
    }

    /// Runs one notification to its end or its next wait.
    pub async fn process(
        &self,
        db: &DatabaseConnection,
        hub: &Hub,
        id: &str,
    ) -> Result<(), JobError> {
        let Some(n) = notification::Entity::find_by_id(id).one(db).await? else {
            return Ok(());
        };
        match n.status.as_str() {
            status::PENDING => {}
            status::SENDING => {
                finish(db, &n, status::FAILED, "The process stopped while sending; not sent again so nobody gets it twice. Retry it by hand if it did not arrive.").await?;
                announce(hub, &n);
                return Ok(());
            }
            _ => return Ok(()),
        }
        let Some(ch) = notification_channel::Entity::find_by_id(&n.channel_id)
            .one(db)
            .await?
        else {
            return Ok(());
        };
        let now = now_ms();
        if !ch.enabled {
            return self.skip(db, hub, &n, "The channel is turned off.").await;
        }
        if ch.broken_at.is_some() {
            finish(
                db,
                &n,
                status::FAILED,
                &format!(
                    "The channel is broken: {}",
                    ch.broken_reason.clone().unwrap_or_default()
                ),
            )
            .await?;
            announce(hub, &n);
            return Ok(());
        }
        if let Some(until) = ch.paused_until.filter(|u| *u > now) {
            return Err(JobError::RetryAfter(
                Duration::from_millis((until - now) as u64),
                Reason::Throttled,
                "channel paused (circuit open or provider rate limit)".into(),
            ));
        }
        if let Some(quota) = ch.monthly_quota
            && sent_this_month(db, &ch.id).await? >= u64::try_from(quota).unwrap_or(0)
        {
            return self
                .skip(
                    db,
                    hub,
                    &n,
                    "quota reached: the channel's monthly quota is used up",
                )
                .await;
        }
        if ch.kind == "slack"
            && let Some(wait) = self.slack_wait(&ch.id)
        {
            return Err(JobError::RetryAfter(
                wait,
                Reason::Throttled,
                "Slack pacing (1 message per second)".into(),
            ));
        }
        let Some(org) = organization::Entity::find_by_id(&ch.organization_id)
            .one(db)
            .await?
        else {
            return Ok(());
        };
        let family = family_of(&ch.kind).unwrap_or("email");
        let (subject_src, body_src) = template(db, &org.id, &n.event_type, family).await?;
        let wants_link = body_src.contains("manage_url") || subject_src.contains("manage_url");
        let built = if n.event_type == "test" {
            Some(Built {
                ctx: test_context(&org),
                person: None,
                booking: None,
                ics: None,
                dashboard_url: format!(
                    "{}/notifications",
                    self.deps.public_url.trim_end_matches('/')
                ),
            })
        } else {
            context::build(db, &self.deps, &org, &n, wants_link).await?
        };
        let Some(built) = built else {
            return self
                .skip(db, hub, &n, "The record it is about no longer exists.")
                .await;
        };
        if n.event_type == REMINDER
            && let Some(why) = reminder_unwanted(&n, built.booking.as_ref())
        {
            return self.skip(db, hub, &n, why).await;
        }
        let settings: ChannelSettings = serde_json::from_str(&ch.settings).unwrap_or_default();
        let to = match recipients(db, &n, &ch.kind, family, &settings, &built).await? {
            Ok(to) => to,
            Err(why) => return self.skip(db, hub, &n, &why).await,
        };
        let message = match compose(family, &subject_src, &body_src, &built, &org, &n.event_type) {
            Ok(m) => m,
            Err(e) => {
                finish(
                    db,
                    &n,
                    status::FAILED,
                    &format!("The template could not be rendered: {e}"),
                )
                .await?;
                announce(hub, &n);
                return Ok(());
            }
        };
        if !claim(db, &n, &to.join(", "), &message).await? {
            return Ok(());
        }
        announce(hub, &n);
        let outcome = self.deliver(db, &ch, &settings, &to, &message).await;
        let next = self.record(db, &n, &ch, &outcome).await?;
        announce(hub, &n);
        match next {
            Some(delay) => Err(JobError::RetryAfter(
                delay,
                if outcome.status.is_some() {
                    Reason::Rejected
                } else {
                    Reason::Unreachable
                },
                outcome
                    .error
                    .clone()
                    .unwrap_or_else(|| "send failed".into()),
            )),
            None => Ok(()),
        }
    }

    async fn skip(
        &self,
        db: &DatabaseConnection,
        hub: &Hub,
        n: &notification::Model,
        why: &str,
    ) -> Result<(), JobError> {
        finish(db, n, status::SKIPPED, why).await?;
        announce(hub, n);
        Ok(())
    }

    async fn deliver(
        &self,
        db: &DatabaseConnection,
        ch: &notification_channel::Model,
        s: &ChannelSettings,
        to: &[String],
        m: &Message,
    ) -> Outcome {
        let secret = match self
            .deps
            .vault
            .get(db, &ch.organization_id, &super::secret_name(&ch.id))
            .await
        {
            Ok(Some(s)) => Some(s),
            // A local relay may need no password.
            Ok(None) if ch.kind == "smtp" => None,
            Ok(None) => {
                return Outcome::failed(
                    Verdict::Broken,
                    None,
                    None,
                    "the channel's secret is missing; set it again".into(),
                );
            }
            Err(e) => {
                return Outcome::failed(
                    Verdict::Retry,
                    None,
                    None,
                    format!("the channel's secret is unreadable: {e}"),
                );
            }
        };
        let secret = secret.as_ref().map_or("", |s| s.expose());
        match ch.kind.as_str() {
            "slack" => channels::slack::send(&self.client, secret, m).await,
            "discord" => channels::discord::send(&self.client, secret, m).await,
            "twilio" => {
                let Some(to) = to.first() else {
                    return Outcome::failed(Verdict::Failed, None, None, "no recipient".into());
                };
                channels::twilio::send(
                    &self.client,
                    &channels::twilio::Sms {
                        api_base: &self.deps.twilio_api_base,
                        account_sid: &s.account_sid,
                        auth_token: secret,
                        from: &s.from,
                        to,
                        body: &m.body,
                    },
                )
                .await
            }
            "sendgrid" => {
                channels::email::send_sendgrid(
                    &self.client,
                    &channels::email::SendGrid {
                        api_base: &self.deps.sendgrid_api_base,
                        api_key: secret,
                        from: &s.from,
                        from_name: &s.from_name,
                    },
                    to,
                    m,
                )
                .await
            }
            _ => {
                channels::email::send_smtp(
                    &self.deps.policy,
                    &channels::email::Smtp {
                        host: &s.host,
                        port: s.port,
                        security: &s.security,
                        username: &s.username,
                        password: secret,
                        from: &s.from,
                        from_name: &s.from_name,
                        roots: self.deps.smtp_roots.as_deref().map(Vec::as_slice),
                    },
                    to,
                    m,
                )
                .await
            }
        }
    }

    /// Stores the outcome and the channel's health; returns the delay before the next
    /// send, if there is one. A message given up, or a channel found broken, becomes a
    /// domain event (`notification.failed`, `channel.broken`).
    async fn record(
        &self,
        db: &DatabaseConnection,
        n: &notification::Model,
        ch: &notification_channel::Model,
        o: &Outcome,
    ) -> Result<Option<Duration>, DbErr> {
        let now = now_ms();
        let sends = n.attempts + 1;
        let (state, next) = match o.verdict {
            Verdict::Sent => (status::SENT, None),
            Verdict::Retry if sends < MAX_SENDS => {
                let backoff = Duration::from_secs(10 * 3u64.pow((sends - 1).clamp(0, 6) as u32))
                    .min(Duration::from_secs(3600));
                (
                    status::PENDING,
                    Some(
                        o.retry_after
                            .unwrap_or(backoff)
                            .max(Duration::from_millis(50)),
                    ),
                )
            }
            _ => (status::FAILED, None),
        };
        let events = |broke: bool| {
            let mut list = Vec::new();
            if state == status::FAILED {
                list.push((
                    EventType::NotificationFailed,
                    n.id.clone(),
                    json!({
                        "id": n.id,
                        "channel_id": ch.id,
                        "channel_name": ch.name,
                        "event_type": n.event_type,
                        "entity_id": n.entity_id,
                        "attempts": sends,
                        "error": o.error,
                    }),
                ));
            }
            if broke {
                list.push((
                    EventType::ChannelBroken,
                    ch.id.clone(),
                    json!({ "id": ch.id, "name": ch.name, "kind": ch.kind, "reason": o.error }),
                ));
            }
            list
        };
        match self.deps.outbox.get().and_then(|w| w.upgrade()) {
            Some(outbox) => {
                let mut uow = outbox.begin().await?;
                let broke = write_outcome(uow.txn(), n, ch, o, state, now).await?;
                for (t, entity, data) in events(broke) {
                    uow.emit(&n.organization_id, t, &entity, data).await?;
                }
                uow.commit().await?;
            }
            None => {
                let txn = crate::db::begin_write(db).await?;
                write_outcome(&txn, n, ch, o, state, now).await?;
                txn.commit().await?;
            }
        }
        Ok(next)
    }
}

/// The message's outcome and the channel's health; true when this made the channel
/// broken.
async fn write_outcome(
    conn: &impl ConnectionTrait,
    n: &notification::Model,
    ch: &notification_channel::Model,
    o: &Outcome,
    state: &str,
    now: i64,
) -> Result<bool, DbErr> {
    notification::Entity::update_many()
        .col_expr(notification::Column::Status, Expr::value(state))
        .col_expr(
            notification::Column::ProviderStatus,
            Expr::value(o.status.map(i32::from)),
        )
        .col_expr(
            notification::Column::ProviderResponse,
            Expr::value(
                o.response
                    .clone()
                    .map(|r| channels::cut(&r, channels::MAX_RESPONSE)),
            ),
        )
        .col_expr(
            notification::Column::LastError,
            Expr::value(o.error.clone()),
        )
        .col_expr(
            notification::Column::SentAt,
            Expr::value((state == status::SENT).then_some(now)),
        )
        .col_expr(notification::Column::UpdatedAt, Expr::value(now))
        .filter(notification::Column::Id.eq(&n.id))
        .exec(conn)
        .await?;
    let mut update = notification_channel::Entity::update_many()
        .col_expr(notification_channel::Column::UpdatedAt, Expr::value(now))
        .filter(notification_channel::Column::Id.eq(&ch.id));
    let mut broke = false;
    match o.verdict {
        Verdict::Sent => {
            update = update
                .col_expr(
                    notification_channel::Column::ConsecutiveFailures,
                    Expr::value(0),
                )
                .col_expr(
                    notification_channel::Column::LastSuccessAt,
                    Expr::value(now),
                )
                .col_expr(
                    notification_channel::Column::PausedUntil,
                    Expr::value(o.hold.map(|h| now + h.as_millis() as i64)),
                );
        }
        Verdict::Retry => {
            // Counted in SQL: several sends of one channel may fail at the same moment.
            update = update
                .col_expr(
                    notification_channel::Column::ConsecutiveFailures,
                    Expr::col(notification_channel::Column::ConsecutiveFailures).add(1),
                )
                .col_expr(
                    notification_channel::Column::LastFailureAt,
                    Expr::value(now),
                );
            if let Some(d) = o.retry_after {
                update = update.col_expr(
                    notification_channel::Column::PausedUntil,
                    Expr::value(now + d.as_millis() as i64),
                );
            }
            update.exec(conn).await?;
            // The failure that makes it CIRCUIT_AFTER in a row opens the circuit.
            notification_channel::Entity::update_many()
                .col_expr(
                    notification_channel::Column::PausedUntil,
                    Expr::value(now + CIRCUIT_OPEN.as_millis() as i64),
                )
                .filter(notification_channel::Column::Id.eq(&ch.id))
                .filter(notification_channel::Column::ConsecutiveFailures.gte(CIRCUIT_AFTER))
                .exec(conn)
                .await?;
            return Ok(false);
        }
        // This message was refused; the channel itself works.
        Verdict::Failed => {
            update = update.col_expr(
                notification_channel::Column::LastFailureAt,
                Expr::value(now),
            );
        }
        Verdict::Broken => {
            broke = ch.broken_at.is_none();
            update = update
                .col_expr(
                    notification_channel::Column::LastFailureAt,
                    Expr::value(now),
                )
                .col_expr(notification_channel::Column::BrokenAt, Expr::value(now))
                .col_expr(
                    notification_channel::Column::BrokenReason,
                    Expr::value(o.error.clone()),
                );
        }
    }
    update.exec(conn).await?;
    Ok(broke)
}

#[async_trait]
impl Handler for Send {
    async fn run(&self, job: &JobContext) -> Result<(), JobError> {
        let id = job.payload["notification_id"].as_str().ok_or_else(|| {
            JobError::Fatal(Reason::Invalid, "payload needs `notification_id`".into())
        })?;
        self.process(&job.db, &job.hub, id).await
    }
}

fn announce(hub: &Hub, n: &notification::Model) {
    hub.change(Change {
        org_id: n.organization_id.clone(),
        entity_kind: "notification".into(),
        entity_id: n.id.clone(),
        event_type: "notification.changed".into(),
    });
}

/// Pending -> sending, with what will be sent. False when another worker has it.
async fn claim(
    db: &DatabaseConnection,
    n: &notification::Model,
    to: &str,
    m: &Message,
) -> Result<bool, DbErr> {
    let r = notification::Entity::update_many()
        .col_expr(notification::Column::Status, Expr::value(status::SENDING))
        .col_expr(
            notification::Column::Attempts,
            Expr::col(notification::Column::Attempts).add(1),
        )
        .col_expr(
            notification::Column::Recipient,
            Expr::value((!to.is_empty()).then(|| to.to_string())),
        )
        .col_expr(
            notification::Column::Subject,
            Expr::value(m.subject.clone()),
        )
        .col_expr(notification::Column::Body, Expr::value(m.body.clone()))
        .col_expr(notification::Column::UpdatedAt, Expr::value(now_ms()))
        .filter(notification::Column::Id.eq(&n.id))
        .filter(notification::Column::Status.eq(status::PENDING))
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

async fn finish(
    db: &DatabaseConnection,
    n: &notification::Model,
    state: &str,
    why: &str,
) -> Result<(), DbErr> {
    let mut q = notification::Entity::update_many()
        .col_expr(notification::Column::Status, Expr::value(state))
        .col_expr(notification::Column::UpdatedAt, Expr::value(now_ms()));
    q = if state == status::SKIPPED {
        q.col_expr(notification::Column::SkipReason, Expr::value(why))
    } else {
        q.col_expr(notification::Column::LastError, Expr::value(why))
    };
    q.filter(notification::Column::Id.eq(&n.id))
        .exec(db)
        .await?;
    Ok(())
}
