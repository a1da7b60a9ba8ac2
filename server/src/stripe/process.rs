//! The `stripe.events` job: applies an organization's stored Stripe events, oldest
//! first, to the payment links they concern. Events about sessions or payments Hitch did
//! not create are marked ignored; a stored event is processed once (its `processed_at`),
//! however often the job or Stripe repeats itself.
//!
//! One job drains every pending event of its organization, so the webhook's intake
//! enqueues a job for an organization only when none is waiting to start (see
//! [`waiting_jobs`]), rather than one per event: under a burst, a job row with its
//! claim and outcome was most of what each event wrote. At most one such job runs per
//! organization at a time.
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::{Value, json};

use super::state::{Observation, Payment};
use super::{Stripe, effects};
use crate::db::entities::{payment_link, stripe_event};
use crate::jobs::{self, Backoff, Handler, JobContext, JobError, Kind, NewJob, Reason, Registry};
use crate::platform::now_ms;
use crate::platform::sql::{placeholders, stmt};

pub const KIND: &str = "stripe.events";
/// The one-job-per-event kind of earlier versions: such jobs still queued after an
/// upgrade drain their organization like the new kind.
const LEGACY_KIND: &str = "stripe.event";
pub const TIMEOUT: Duration = Duration::from_secs(30);
pub const MAX_ATTEMPTS: i32 = 20;
/// Events read and recorded together.
const PAGE: u64 = 200;
/// A job that has worked this long hands the rest to a fresh job, well before the
/// timeout would cut it off.
const BUDGET: Duration = Duration::from_secs(20);

/// The job that applies `org_id`'s pending events.
pub fn job(org_id: &str) -> NewJob {
    NewJob::new(KIND, json!({}))
        .org(org_id)
        .limit_per(format!("{KIND}:{org_id}"), 1)
        .limits(MAX_ATTEMPTS, TIMEOUT)
}

/// The organizations among `orgs` whose processing job is queued and has not started:
/// it will read events stored with `txn`, so those need no job of their own. Under a
/// burst this is what keeps the queue from holding a job per stored batch.
///
/// A worker must not start such a job between this read and the commit, or it could
/// read the pending events before these are visible and finish without them. On
/// SQLite the write lock that `txn` holds keeps every claim out; on PostgreSQL the
/// rows are locked until the commit, and a claim skips locked rows.
pub async fn waiting_jobs(
    txn: &impl ConnectionTrait,
    orgs: &[&str],
) -> Result<HashSet<String>, DbErr> {
    if orgs.is_empty() {
        return Ok(HashSet::new());
    }
    let lock = match txn.get_database_backend() {
        DbBackend::Postgres => "FOR UPDATE",
        _ => "",
    };
    let mut values: Vec<sea_orm::Value> =
        orgs.iter().map(|o| format!("{KIND}:{o}").into()).collect();
    values.push(now_ms().into());
    let sql = format!(
        "SELECT organization_id FROM jobs
         WHERE concurrency_key IN ({keys}) AND status = '{queued}' AND attempts = 0
           AND run_at <= ${now}
         ORDER BY id {lock}",
        keys = placeholders(1, orgs.len()),
        queued = jobs::status::QUEUED,
        now = orgs.len() + 1,
    );
    let rows = txn.query_all_raw(stmt(txn, &sql, values)).await?;
    rows.iter()
        .map(|r| r.try_get::<String>("", "organization_id"))
        .collect()
}

/// Which link an event is about, and what it says; `Err` names why it is ignored.
async fn interpret(
    stripe: &Stripe,
    org_id: &str,
    event_type: &str,
    object: &Value,
) -> Result<(payment_link::Model, Observation), String> {
    let text = |k: &str| object.get(k).and_then(Value::as_str).map(str::to_owned);
    let intent_of = |v: &Value| match v.get("payment_intent") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Object(o)) => o.get("id").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    };
    let by_session = || async {
        let id = text("id").ok_or("the session has no id")?;
        find(stripe, org_id, payment_link::Column::SessionId, &id).await
    };
    let by_intent = |pi: Option<String>| async move {
        let from_meta = object
            .pointer("/metadata/hitch_link_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if let Some(link_id) = from_meta
            && let Ok(l) = find(stripe, org_id, payment_link::Column::Id, &link_id).await
        {
            return Ok(l);
        }
        let pi = pi.ok_or("no payment intent")?;
        find(stripe, org_id, payment_link::Column::PaymentIntentId, &pi).await
    };
    match event_type {
        "checkout.session.completed" => Ok((
            by_session().await?,
            Observation::Completed {
                payment: Payment::parse(&text("payment_status").unwrap_or_default()),
                payment_intent: intent_of(object),
            },
        )),
        "checkout.session.async_payment_succeeded" => Ok((
            by_session().await?,
            Observation::AsyncSucceeded {
                payment_intent: intent_of(object),
            },
        )),
        "checkout.session.async_payment_failed" => {
            Ok((by_session().await?, Observation::AsyncFailed))
        }
        "checkout.session.expired" => Ok((by_session().await?, Observation::Expired)),
        "payment_intent.payment_failed" => {
            let message = object
                .pointer("/last_payment_error/message")
                .and_then(Value::as_str)
                .unwrap_or("The payment was declined.")
                .to_string();
            Ok((
                by_intent(text("id")).await?,
                Observation::AttemptFailed { message },
            ))
        }
        "charge.refunded" => {
            let total = object
                .get("amount_refunded")
                .and_then(Value::as_i64)
                .ok_or("the charge has no amount_refunded")?;
            Ok((
                by_intent(intent_of(object)).await?,
                Observation::Refunded {
                    total_refunded_minor: total,
                },
            ))
        }
        other => Err(format!("{other} is not an event Hitch acts on")),
    }
}

async fn find(
    stripe: &Stripe,
    org_id: &str,
    col: payment_link::Column,
    value: &str,
) -> Result<payment_link::Model, String> {
    payment_link::Entity::find()
        .filter(payment_link::Column::OrganizationId.eq(org_id))
        .filter(col.eq(value))
        .one(&stripe.db)
        .await
        .map_err(|e| format!("database: {e}"))?
        .ok_or_else(|| "not about a Hitch payment link".to_string())
}

struct Process {
    stripe: Stripe,
}

impl Process {
    /// What applying one event did, for its `outcome`; `Err` when it should be tried
    /// again (the database failed).
    async fn apply(&self, ev: &stripe_event::Model) -> Result<String, String> {
        let Ok(body) = serde_json::from_str::<Value>(&ev.payload) else {
            // The endpoint parsed it before storing it, so this is a damaged row.
            return Ok("ignored: the stored event is not JSON".into());
        };
        let object = body.pointer("/data/object").cloned().unwrap_or(Value::Null);
        match interpret(&self.stripe, &ev.organization_id, &ev.event_type, &object).await {
            Ok((link, obs)) => {
                let after = effects::apply(&self.stripe, &link.id, &obs)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(if effects::state_of(&after) == effects::state_of(&link) {
                    format!("no change to {} (already known)", link.id)
                } else {
                    format!("applied to {}", link.id)
                })
            }
            Err(why) if why.starts_with("database:") => Err(why),
            Err(why) => Ok(format!("ignored: {why}")),
        }
    }

    /// Marks events processed, in one transaction.
    async fn record(&self, done: &[(String, String)]) -> Result<(), DbErr> {
        if done.is_empty() {
            return Ok(());
        }
        let _turn = self.stripe.gate.enter().await;
        let txn = crate::db::begin_write(&self.stripe.db).await?;
        let now = now_ms();
        for (id, outcome) in done {
            stripe_event::Entity::update_many()
                .col_expr(stripe_event::Column::ProcessedAt, Expr::value(now))
                .col_expr(stripe_event::Column::Outcome, Expr::value(outcome.clone()))
                .filter(stripe_event::Column::Id.eq(id.as_str()))
                .filter(stripe_event::Column::ProcessedAt.is_null())
                .exec(&txn)
                .await?;
        }
        txn.commit().await
    }
}

#[async_trait]
impl Handler for Process {
    async fn run(&self, job: &JobContext) -> Result<(), JobError> {
        let org = job.org_id.as_deref().ok_or_else(|| {
            JobError::Fatal(Reason::Invalid, "the job names no organization".into())
        })?;
        let retry = JobError::from;
        let started = Instant::now();
        loop {
            let page = stripe_event::Entity::find()
                .filter(stripe_event::Column::OrganizationId.eq(org))
                .filter(stripe_event::Column::ProcessedAt.is_null())
                .order_by_asc(stripe_event::Column::Created)
                .order_by_asc(stripe_event::Column::ReceivedAt)
                .order_by_asc(stripe_event::Column::Id)
                .limit(PAGE)
                .all(&self.stripe.db)
                .await
                .map_err(retry)?;
            let full = page.len() as u64 == PAGE;
            let mut done = Vec::with_capacity(page.len());
            let mut failed = None;
            for ev in page {
                match self.apply(&ev).await {
                    Ok(outcome) => done.push((ev.id, outcome)),
                    // The rest waits for the retry, so events still apply in order.
                    Err(why) => {
                        failed = Some(why);
                        break;
                    }
                }
            }
            self.record(&done).await.map_err(retry)?;
            if let Some(why) = failed {
                return Err(JobError::Retry(Reason::Database, why));
            }
            if !full {
                return Ok(());
            }
            if started.elapsed() > BUDGET {
                let next = [self::job(org)];
                jobs::insert(&self.stripe.db, &next).await?;
                self.stripe.outbox.hub().jobs_enqueued();
                return Ok(());
            }
        }
    }
}

pub fn register(registry: &mut Registry, stripe: Stripe) {
    let handler = Arc::new(Process { stripe });
    for name in [KIND, LEGACY_KIND] {
        registry.add(Kind {
            name,
            timeout: TIMEOUT,
            max_attempts: MAX_ATTEMPTS,
            backoff: Backoff::new(Duration::from_secs(5), Duration::from_secs(1800)),
            handler: handler.clone(),
        });
    }
}
