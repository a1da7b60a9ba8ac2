//! Reconciliation: Stripe's webhooks can be missed (endpoint down for days, a secret
//! mistyped), so a periodic sweep asks Stripe about every link whose outcome we may not
//! know: active links past their expiry, active links not checked for a while (paid on
//! Stripe but not here), and completed links whose delayed payment has not settled.
//! Each check is a job, so a Stripe outage only means the job retries later.
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QuerySelect, sea_query::Expr};
use serde_json::json;

use super::client::{CheckoutSession, StripeError};
use super::state::{Observation, Payment};
use super::{Stripe, effects};
use crate::db::entities::payment_link;
use crate::jobs::{Backoff, Handler, JobContext, JobError, Kind, NewJob, Reason, Registry};
use crate::platform::now_ms;

pub const CHECK_KIND: &str = "stripe.check_link";
/// A link is first checked this long after creation, then this often while unsettled.
pub const CHECK_EVERY_MS: i64 = 15 * 60 * 1000;
const BATCH: u64 = 200;

/// What a retrieved session says, as an observation (`None`: still open).
pub fn observe(session: &CheckoutSession) -> Option<Observation> {
    match session.status.as_deref() {
        Some("complete") => Some(Observation::Completed {
            payment: Payment::parse(&session.payment_status),
            payment_intent: session.payment_intent_id(),
        }),
        Some("expired") => Some(Observation::Expired),
        _ => None,
    }
}

/// Enqueues a check for every link that needs one; returns how many.
pub async fn sweep(stripe: &Stripe, registry: &Registry) -> Result<usize, sea_orm::DbErr> {
    let now = now_ms();
    let due = Condition::any()
        .add(payment_link::Column::ExpiresAt.lt(now))
        .add(payment_link::Column::CheckedAt.is_null())
        .add(payment_link::Column::CheckedAt.lt(now - CHECK_EVERY_MS));
    let unsettled = Condition::any()
        .add(payment_link::Column::Status.eq("active"))
        .add(
            Condition::all()
                .add(payment_link::Column::Status.eq("completed"))
                .add(payment_link::Column::PaymentStatus.eq("unpaid")),
        );
    let ids: Vec<String> = payment_link::Entity::find()
        .select_only()
        .column(payment_link::Column::Id)
        .filter(unsettled)
        .filter(due)
        .filter(payment_link::Column::CreatedAt.lt(now - CHECK_EVERY_MS))
        .limit(BATCH)
        .into_tuple()
        .all(&stripe.db)
        .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    // Stamped now so the next sweep does not enqueue them again while the jobs run.
    payment_link::Entity::update_many()
        .col_expr(payment_link::Column::CheckedAt, Expr::value(now))
        .filter(payment_link::Column::Id.is_in(ids.clone()))
        .exec(&stripe.db)
        .await?;
    let jobs: Vec<NewJob> = ids
        .iter()
        .map(|id| {
            NewJob::new(CHECK_KIND, json!({ "link_id": id }))
                .limit_per(format!("stripe-link:{id}"), 1)
        })
        .collect();
    crate::jobs::enqueue_now(&stripe.db, stripe.outbox.hub(), registry, &jobs).await?;
    Ok(ids.len())
}

struct Check {
    stripe: Stripe,
}

#[async_trait]
impl Handler for Check {
    async fn run(&self, job: &JobContext) -> Result<(), JobError> {
        let link_id = job.payload["link_id"]
            .as_str()
            .ok_or_else(|| JobError::Fatal(Reason::Invalid, "payload needs `link_id`".into()))?;
        let Some(link) = payment_link::Entity::find_by_id(link_id)
            .one(&self.stripe.db)
            .await?
        else {
            return Ok(()); // deleted with its organization
        };
        let client = self
            .stripe
            .client(&link.organization_id)
            .await
            .map_err(|e| JobError::Fatal(Reason::Invalid, e.to_string()))?;
        let session = match client.retrieve_checkout_session(&link.session_id).await {
            Ok(s) => s,
            Err(e @ StripeError::Unavailable(_)) => {
                return Err(JobError::Retry(Reason::Unreachable, e.to_string()));
            }
            Err(e) => return Err(JobError::Fatal(Reason::Rejected, e.to_string())),
        };
        if let Some(obs) = observe(&session) {
            effects::apply(&self.stripe, &link.id, &obs).await?;
        }
        Ok(())
    }
}

pub fn register(registry: &mut Registry, stripe: Stripe) {
    registry.add(Kind {
        name: CHECK_KIND,
        timeout: Duration::from_secs(60),
        max_attempts: 12,
        backoff: Backoff::new(Duration::from_secs(30), Duration::from_secs(3600)),
        handler: Arc::new(Check { stripe }),
    });
}
