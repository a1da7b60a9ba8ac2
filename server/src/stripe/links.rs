//! Creating and expiring payment links (Stripe Checkout Sessions).
use app::error::AppError;
use app::model::auth::Actor;
use app::model::payment::{LinkStatus, Subject};
use chrono::Utc;
use sea_orm::{ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, SqlErr};
use serde_json::json;

use super::client::{CheckoutRequest, StripeError};
use super::effects;
use super::state::Observation;
use super::{Stripe, provider_error};
use crate::db::audit;
use crate::db::entities::{booking, client, invoice, organization, payment_link};
use crate::db::org;
use crate::platform::{OrInternal, ids, now_ms};

/// What a new link collects, read from the invoice or booking.
pub struct Collect {
    pub amount_minor: i64,
    pub currency: String,
    pub product_name: String,
    pub customer_email: Option<String>,
}

/// What a new link for `subject` would collect, or why none can be made.
pub async fn what_to_collect(
    stripe: &Stripe,
    org: &organization::Model,
    subject: Subject,
    subject_id: &str,
) -> Result<Collect, AppError> {
    let db = &stripe.db;
    match subject {
        Subject::Invoice => {
            let inv = invoice::Entity::find_by_id(subject_id)
                .filter(invoice::Column::OrganizationId.eq(&org.id))
                .one(db)
                .await
                .or_internal()?
                .ok_or_else(|| AppError::not_found("invoice"))?;
            let refuse = |why: &str| {
                Err(AppError::InvalidTransition {
                    detail: format!("Invoice {} {why}", inv.number),
                })
            };
            match inv.status.as_str() {
                "paid" => return refuse("is already paid."),
                "refunded" => return refuse("was paid and refunded."),
                "void" => return refuse("is void: it will not be collected."),
                _ => {}
            }
            if inv.total_minor <= 0 {
                return refuse("has nothing to pay: its total is zero.");
            }
            let email = client::Entity::find_by_id(&inv.client_id)
                .one(db)
                .await
                .or_internal()?
                .map(|c| c.email)
                .filter(|e| e.contains('@'));
            Ok(Collect {
                amount_minor: inv.total_minor,
                currency: inv.currency.clone(),
                product_name: format!("Invoice {} from {}", inv.number, org.name),
                customer_email: email,
            })
        }
        Subject::Deposit => {
            let b = booking::Entity::find_by_id(subject_id)
                .filter(booking::Column::OrganizationId.eq(&org.id))
                .one(db)
                .await
                .or_internal()?
                .ok_or_else(|| AppError::not_found("booking"))?;
            if b.deposit_minor <= 0 {
                return Err(AppError::InvalidTransition {
                    detail: "This booking asks for no deposit.".into(),
                });
            }
            if matches!(b.status.as_str(), "cancelled" | "completed" | "no_show") {
                return Err(AppError::InvalidTransition {
                    detail: format!(
                        "The booking is {}: no deposit can be taken.",
                        b.status.replace('_', "-")
                    ),
                });
            }
            let paid = payment_link::Entity::find()
                .filter(payment_link::Column::OrganizationId.eq(&org.id))
                .filter(payment_link::Column::SubjectKind.eq(Subject::Deposit.as_str()))
                .filter(payment_link::Column::SubjectId.eq(&b.id))
                .filter(payment_link::Column::PaymentStatus.eq("paid"))
                .one(db)
                .await
                .or_internal()?;
            if paid.is_some() {
                return Err(AppError::InvalidTransition {
                    detail: "The deposit for this booking is already paid.".into(),
                });
            }
            let local = b.starts_at.with_timezone(&org::tz(org));
            let email = client::Entity::find_by_id(&b.client_id)
                .one(db)
                .await
                .or_internal()?
                .map(|c| c.email)
                .filter(|e| e.contains('@'));
            Ok(Collect {
                amount_minor: b.deposit_minor,
                currency: org.currency.clone(),
                product_name: format!(
                    "Deposit: {}, {}",
                    org.name,
                    local.format("%a %-d %b %Y, %H:%M")
                ),
                customer_email: email,
            })
        }
    }
}

/// The link still payable for `subject`, if any (older than its expiry counts as gone).
pub async fn active(
    stripe: &Stripe,
    org_id: &str,
    subject: Subject,
    subject_id: &str,
) -> Result<Option<payment_link::Model>, AppError> {
    let row = payment_link::Entity::find()
        .filter(payment_link::Column::OrganizationId.eq(org_id))
        .filter(payment_link::Column::SubjectKind.eq(subject.as_str()))
        .filter(payment_link::Column::SubjectId.eq(subject_id))
        .filter(payment_link::Column::Status.eq(LinkStatus::Active.as_str()))
        .one(&stripe.db)
        .await
        .or_internal()?;
    match row {
        // A minute of margin: a payer sent to a link about to expire would fail.
        Some(l) if l.expires_at > now_ms() + 60_000 => Ok(Some(l)),
        Some(l) => {
            // Stripe expires it on its own; record that so a new one can be made.
            effects::apply(stripe, &l.id, &Observation::Expired)
                .await
                .or_internal()?;
            Ok(None)
        }
        None => Ok(None),
    }
}

/// Creates a Checkout Session and stores the link, or returns the one still active.
/// Nothing is stored unless Stripe created the session.
pub async fn create(
    stripe: &Stripe,
    actor: &Actor,
    subject: Subject,
    subject_id: &str,
    success_url: Option<String>,
) -> Result<payment_link::Model, AppError> {
    let org = org::load(&stripe.db, &actor.org_id).await?;
    if let Some(existing) = active(stripe, &org.id, subject, subject_id).await? {
        return Ok(existing);
    }
    let what = what_to_collect(stripe, &org, subject, subject_id).await?;
    let client = stripe.client(&org.id).await?;
    let id = ids::new("pl");
    let base = stripe.public_url.trim_end_matches('/');
    let success_url = success_url
        .unwrap_or_else(|| format!("{base}/payment/thanks?session_id={{CHECKOUT_SESSION_ID}}"));
    let cancel_url = format!("{base}/payment/cancelled");
    let expires_at = Utc::now().timestamp() + stripe.link_ttl_secs;
    let session = client
        .create_checkout_session(
            &CheckoutRequest {
                amount_minor: what.amount_minor,
                currency: &what.currency,
                product_name: &what.product_name,
                success_url: &success_url,
                cancel_url: &cancel_url,
                expires_at,
                client_reference_id: &id,
                customer_email: what.customer_email.as_deref(),
                metadata: &[
                    ("hitch_link_id", id.as_str()),
                    ("hitch_subject", subject.as_str()),
                    ("hitch_subject_id", subject_id),
                ],
            },
            &format!("hitch-checkout-{id}"),
        )
        .await
        .map_err(provider_error)?;
    let Some(url) = session.url.clone() else {
        return Err(provider_error(StripeError::Protocol(
            "the new Checkout Session has no url".into(),
        )));
    };
    let now = now_ms();
    let row = payment_link::ActiveModel {
        id: Set(id.clone()),
        organization_id: Set(org.id.clone()),
        subject_kind: Set(subject.as_str().into()),
        subject_id: Set(subject_id.into()),
        session_id: Set(session.id.clone()),
        url: Set(url),
        amount_minor: Set(what.amount_minor),
        currency: Set(what.currency.clone()),
        status: Set(LinkStatus::Active.as_str().into()),
        payment_status: Set("unpaid".into()),
        payment_intent_id: Set(session.payment_intent_id()),
        refunded_minor: Set(0),
        last_error: Set(None),
        expires_at: Set(session.expires_at * 1000),
        created_by: Set(Some(actor.id.clone())),
        created_at: Set(now),
        updated_at: Set(now),
        completed_at: Set(None),
        checked_at: Set(None),
        check_refused_at: Set(None),
    };
    let txn = crate::db::begin_write(&stripe.db).await.or_internal()?;
    let inserted = payment_link::Entity::insert(row)
        .exec_without_returning(&txn)
        .await;
    match inserted {
        Ok(_) => {}
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            // Someone made one at the same moment: keep theirs, retire ours.
            drop(txn);
            if let Err(e) = client
                .expire_checkout_session(&session.id, &format!("hitch-expire-{id}"))
                .await
            {
                tracing::warn!(error = %e, session = %session.id, "could not expire a duplicate session");
            }
            return active(stripe, &org.id, subject, subject_id)
                .await?
                .ok_or_else(|| AppError::InvalidTransition {
                    detail: "Another payment link was just created; reload the page.".into(),
                });
        }
        Err(e) => return Err(crate::platform::internal(e)),
    }
    audit::record(
        &txn,
        actor,
        "payment_link.created",
        "payment_link",
        &id,
        json!({ "subject": subject.as_str(), "subject_id": subject_id, "amount_minor": what.amount_minor }),
    )
    .await
    .or_internal()?;
    txn.commit().await.or_internal()?;
    find(stripe, &org.id, &id).await
}

pub async fn find(
    stripe: &Stripe,
    org_id: &str,
    id: &str,
) -> Result<payment_link::Model, AppError> {
    payment_link::Entity::find_by_id(id)
        .filter(payment_link::Column::OrganizationId.eq(org_id))
        .one(&stripe.db)
        .await
        .or_internal()?
        .ok_or_else(|| AppError::not_found("payment link"))
}

/// Every link of a subject, newest first.
pub async fn for_subject(
    stripe: &Stripe,
    org_id: &str,
    subject: Subject,
    subject_id: &str,
) -> Result<Vec<payment_link::Model>, DbErr> {
    payment_link::Entity::find()
        .filter(payment_link::Column::OrganizationId.eq(org_id))
        .filter(payment_link::Column::SubjectKind.eq(subject.as_str()))
        .filter(payment_link::Column::SubjectId.eq(subject_id))
        .order_by_desc(payment_link::Column::Id)
        .all(&stripe.db)
        .await
}

/// Expires a link early (Stripe stops accepting payments on it). A link Stripe already
/// completed is recorded as completed instead: the payer was faster.
pub async fn expire(
    stripe: &Stripe,
    actor: &Actor,
    id: &str,
) -> Result<payment_link::Model, AppError> {
    let link = find(stripe, &actor.org_id, id).await?;
    if link.status != LinkStatus::Active.as_str() {
        return Err(AppError::InvalidTransition {
            detail: format!("This payment link is already {}.", link.status),
        });
    }
    let client = stripe.client(&actor.org_id).await?;
    match client
        .expire_checkout_session(&link.session_id, &format!("hitch-expire-{id}"))
        .await
    {
        Ok(_) => {
            effects::apply(stripe, id, &Observation::Cancelled)
                .await
                .or_internal()?;
        }
        // Not open any more (completed or expired meanwhile): ask what it became.
        Err(StripeError::Refused { .. }) => {
            let session = client
                .retrieve_checkout_session(&link.session_id)
                .await
                .map_err(provider_error)?;
            if let Some(obs) = super::reconcile::observe(&session) {
                effects::apply(stripe, id, &obs).await.or_internal()?;
            }
        }
        Err(e) => return Err(provider_error(e)),
    }
    let txn = crate::db::begin_write(&stripe.db).await.or_internal()?;
    audit::record(
        &txn,
        actor,
        "payment_link.expired_by_staff",
        "payment_link",
        id,
        json!({}),
    )
    .await
    .or_internal()?;
    txn.commit().await.or_internal()?;
    find(stripe, &actor.org_id, id).await
}
