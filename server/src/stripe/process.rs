//! The `stripe.event` job: reads a stored Stripe event and applies it to the payment
//! link it concerns. Events about sessions or payments Hitch did not create are marked
//! ignored; a stored event is processed once (its `processed_at`), however often the job
//! or Stripe repeats itself.
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;

use super::state::{Observation, Payment};
use super::{Stripe, effects, now_ms};
use crate::db::entities::{payment_link, stripe_event};
use crate::jobs::{Backoff, Handler, JobContext, JobError, Kind, Registry};

pub const KIND: &str = "stripe.event";
pub const TIMEOUT: Duration = Duration::from_secs(30);
pub const MAX_ATTEMPTS: i32 = 20;

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

#[async_trait]
impl Handler for Process {
    async fn run(&self, job: &JobContext) -> Result<(), JobError> {
        let id = job.payload["event"]
            .as_str()
            .ok_or_else(|| JobError::Fatal("payload needs `event`".into()))?;
        let db = &self.stripe.db;
        let Some(ev) = stripe_event::Entity::find_by_id(id)
            .one(db)
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?
        else {
            return Ok(());
        };
        if ev.processed_at.is_some() {
            return Ok(());
        }
        let body: Value = serde_json::from_str(&ev.payload)
            .map_err(|e| JobError::Fatal(format!("stored event is not JSON: {e}")))?;
        let object = body.pointer("/data/object").cloned().unwrap_or(Value::Null);
        let outcome =
            match interpret(&self.stripe, &ev.organization_id, &ev.event_type, &object).await {
                Ok((link, obs)) => {
                    let after = effects::apply(&self.stripe, &link.id, &obs)
                        .await
                        .map_err(|e| JobError::Retry(e.to_string()))?;
                    if effects::state_of(&after) == effects::state_of(&link) {
                        format!("no change to {} (already known)", link.id)
                    } else {
                        format!("applied to {}", link.id)
                    }
                }
                Err(why) if why.starts_with("database:") => return Err(JobError::Retry(why)),
                Err(why) => format!("ignored: {why}"),
            };
        let mut row: stripe_event::ActiveModel = ev.into();
        row.processed_at = Set(Some(now_ms()));
        row.outcome = Set(Some(outcome));
        let _turn = self.stripe.gate.enter().await;
        row.update(db)
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?;
        Ok(())
    }
}

pub fn register(registry: &mut Registry, stripe: Stripe) {
    registry.add(Kind {
        name: KIND,
        timeout: TIMEOUT,
        max_attempts: MAX_ATTEMPTS,
        backoff: Backoff::new(Duration::from_secs(5), Duration::from_secs(1800)),
        handler: Arc::new(Process { stripe }),
    });
}
