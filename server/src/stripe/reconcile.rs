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
use crate::platform::{now_ms, sql};

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
    // Past its expiry a link is checked once more at once, then like the others: a
    // sweep must not enqueue it again while its check waits or runs.
    let due = Condition::any()
        .add(payment_link::Column::CheckedAt.is_null())
        .add(payment_link::Column::CheckedAt.lt(now - CHECK_EVERY_MS))
        .add(
            Condition::all()
                .add(payment_link::Column::ExpiresAt.lt(now))
                .add(sql::col_lt(
                    payment_link::Column::CheckedAt,
                    payment_link::Column::ExpiresAt,
                )),
        );
    let unsettled = Condition::any()
        .add(payment_link::Column::Status.eq("active"))
        .add(
            Condition::all()
                .add(payment_link::Column::Status.eq("completed"))
                .add(payment_link::Column::PaymentStatus.eq("unpaid")),
        );
    let links: Vec<(String, String)> = payment_link::Entity::find()
        .select_only()
        .column(payment_link::Column::Id)
        .column(payment_link::Column::OrganizationId)
        .filter(unsettled)
        .filter(due)
        // Stripe refused to say: asking again every few minutes would only pile up
        // dead jobs. Staff see the link's error and can expire it or make a new one.
        .filter(payment_link::Column::CheckRefusedAt.is_null())
        .filter(payment_link::Column::CreatedAt.lt(now - CHECK_EVERY_MS))
        .limit(BATCH)
        .into_tuple()
        .all(&stripe.db)
        .await?;
    if links.is_empty() {
        return Ok(0);
    }
    let ids: Vec<String> = links.iter().map(|(id, _)| id.clone()).collect();
    // Stamped now so the next sweep does not enqueue them again while the jobs run.
    payment_link::Entity::update_many()
        .col_expr(payment_link::Column::CheckedAt, Expr::value(now))
        .filter(payment_link::Column::Id.is_in(ids.clone()))
        .exec(&stripe.db)
        .await?;
    let jobs: Vec<NewJob> = links
        .iter()
        .map(|(id, org)| {
            NewJob::new(CHECK_KIND, json!({ "link_id": id }))
                .org(org)
                .limit_per(format!("stripe-link:{id}"), 1)
        })
        .collect();
    crate::jobs::enqueue_now(&stripe.db, stripe.outbox.hub(), registry, &jobs).await?;
    Ok(ids.len())
}

struct Check {
    stripe: Stripe,
}

impl Check {
    /// Marks a link Stripe will not tell about, so sweeps leave it alone.
    async fn stop_checking(&self, link_id: &str) -> Result<(), sea_orm::DbErr> {
        payment_link::Entity::update_many()
            .col_expr(payment_link::Column::CheckRefusedAt, Expr::value(now_ms()))
            .filter(payment_link::Column::Id.eq(link_id))
            .exec(&self.stripe.db)
            .await
            .map(|_| ())
    }
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
        let client = match self.stripe.client(&link.organization_id).await {
            Ok(c) => c,
            Err(e) => {
                self.stop_checking(&link.id).await?;
                return Err(JobError::Fatal(Reason::Invalid, e.to_string()));
            }
        };
        let session = match client.retrieve_checkout_session(&link.session_id).await {
            Ok(s) => s,
            Err(e @ StripeError::Unavailable(_)) => {
                return Err(JobError::Retry(Reason::Unreachable, e.to_string()));
            }
            Err(e) => {
                self.stop_checking(&link.id).await?;
                return Err(JobError::Fatal(Reason::Rejected, e.to_string()));
            }
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
