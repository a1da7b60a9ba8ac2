//! Refunds, full or partial, asked of Stripe by staff. The refund row is written only
//! once Stripe accepted it; the link's refunded amount follows at once (and again,
//! harmlessly, when Stripe's `charge.refunded` event arrives).
use app::error::AppError;
use app::model::auth::Actor;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;

use super::client::StripeError;
use super::state::Observation;
use super::{Stripe, effects, links, provider_error};
use crate::db::audit;
use crate::db::entities::{payment_link, refund};
use crate::platform::{OrInternal, ids, now_ms};

/// Refunds `amount_minor` (everything left when `None`) of a paid link.
pub async fn refund(
    stripe: &Stripe,
    actor: &Actor,
    link_id: &str,
    amount_minor: Option<i64>,
    reason: &str,
) -> Result<payment_link::Model, AppError> {
    let link = links::find(stripe, &actor.org_id, link_id).await?;
    let left = link.amount_minor - link.refunded_minor;
    if link.payment_status != "paid" || left <= 0 {
        return Err(AppError::InvalidTransition {
            detail: if link.payment_status == "paid" {
                "This payment is already fully refunded.".into()
            } else {
                "Only a paid payment can be refunded.".into()
            },
        });
    }
    let amount = amount_minor.unwrap_or(left).min(left);
    let Some(pi) = link.payment_intent_id.clone() else {
        return Err(AppError::InvalidTransition {
            detail: "Stripe has not told us the payment's id yet; try again in a minute.".into(),
        });
    };
    let client = stripe.client(&actor.org_id).await?;
    let id = ids::new("rf");
    let created = client
        .create_refund(
            &pi,
            Some(amount),
            &[
                ("hitch_link_id", link.id.as_str()),
                ("hitch_refund_id", id.as_str()),
            ],
            &format!("hitch-refund-{id}"),
        )
        .await;
    let stripe_refund = match created {
        Ok(r) => r,
        Err(StripeError::Refused { message, .. }) => {
            return Err(AppError::InvalidTransition {
                detail: format!("Stripe refused the refund: {message}"),
            });
        }
        Err(e) => return Err(provider_error(e)),
    };
    let txn = crate::db::begin_write(&stripe.db).await.or_internal()?;
    refund::Entity::insert(refund::ActiveModel {
        id: Set(id.clone()),
        organization_id: Set(actor.org_id.clone()),
        payment_link_id: Set(link.id.clone()),
        stripe_refund_id: Set(Some(stripe_refund.id.clone())),
        amount_minor: Set(stripe_refund.amount),
        reason: Set(reason.trim().chars().take(500).collect()),
        status: Set(stripe_refund
            .status
            .clone()
            .unwrap_or_else(|| "pending".into())),
        created_by: Set(Some(actor.id.clone())),
        created_at: Set(now_ms()),
    })
    .exec_without_returning(&txn)
    .await
    .or_internal()?;
    audit::record(
        &txn,
        actor,
        "payment.refunded",
        "payment_link",
        &link.id,
        json!({ "amount_minor": stripe_refund.amount, "refund": id, "reason": reason.trim() }),
    )
    .await
    .or_internal()?;
    txn.commit().await.or_internal()?;
    let total = link.refunded_minor + stripe_refund.amount;
    effects::apply(
        stripe,
        &link.id,
        &Observation::Refunded {
            total_refunded_minor: total,
        },
    )
    .await
    .or_internal()
}

/// The refunds of several links in one query, by link id.
pub async fn for_links(
    stripe: &Stripe,
    link_ids: Vec<String>,
) -> Result<std::collections::HashMap<String, Vec<refund::Model>>, sea_orm::DbErr> {
    let mut by_link: std::collections::HashMap<String, Vec<refund::Model>> = Default::default();
    for r in refund::Entity::find()
        .filter(refund::Column::PaymentLinkId.is_in(link_ids))
        .order_by_asc(refund::Column::Id)
        .all(&stripe.db)
        .await?
    {
        by_link
            .entry(r.payment_link_id.clone())
            .or_default()
            .push(r);
    }
    Ok(by_link)
}

pub async fn for_link(
    stripe: &Stripe,
    link_id: &str,
) -> Result<Vec<refund::Model>, sea_orm::DbErr> {
    refund::Entity::find()
        .filter(refund::Column::PaymentLinkId.eq(link_id))
        .order_by_asc(refund::Column::Id)
        .all(&stripe.db)
        .await
}
