//! Applies an observation to a stored link, and what follows from it, in one
//! transaction: the invoice becomes paid or refunded, a pending booking whose deposit
//! was paid becomes confirmed, and the matching domain events are emitted.
use app::model::auth::{Actor, ActorKind};
use app::model::payment::{LinkStatus, Subject};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, QuerySelect, sea_query::Expr,
};
use serde_json::json;

use super::Stripe;
use super::state::{LinkState, Observation, Payment};
use crate::db::audit;
use crate::db::entities::{booking, invoice, organization, payment_link};
use crate::events::{EventType, UnitOfWork, payloads};
use crate::platform::{now_ms, sql};

pub fn state_of(l: &payment_link::Model) -> LinkState {
    LinkState {
        status: LinkStatus::parse(&l.status).unwrap_or(LinkStatus::Active),
        payment: Payment::parse(&l.payment_status),
        payment_intent: l.payment_intent_id.clone(),
        refunded_minor: l.refunded_minor,
        last_error: l.last_error.clone(),
    }
}

/// Who Stripe-driven changes are attributed to in the audit log.
fn stripe_actor(org_id: &str) -> Actor {
    Actor {
        org_id: org_id.into(),
        kind: ActorKind::System,
        id: "stripe".into(),
        label: "Stripe".into(),
    }
}

/// Merges `obs` into link `link_id` and applies the consequences. Returns the link as
/// stored afterwards; a no-op (old news) writes nothing.
pub async fn apply(
    stripe: &Stripe,
    link_id: &str,
    obs: &Observation,
) -> Result<payment_link::Model, DbErr> {
    let _turn = stripe.gate.enter().await;
    let mut uow = stripe.outbox.begin().await?;
    let txn = uow.txn();
    // Row lock on PostgreSQL, so two events for one link apply one after the other
    // (SQLite serializes writers anyway).
    let Some(cur) = payment_link::Entity::find_by_id(link_id)
        .lock_exclusive()
        .one(txn)
        .await?
    else {
        return Err(DbErr::RecordNotFound(format!("payment link {link_id}")));
    };
    let before = state_of(&cur);
    let after = before.advance(obs);
    if after == before {
        uow.rollback().await?;
        return Ok(cur);
    }
    let now = now_ms();
    let mut row: payment_link::ActiveModel = cur.clone().into();
    row.status = Set(after.status.as_str().into());
    row.payment_status = Set(after.payment.as_str().into());
    row.payment_intent_id = Set(after.payment_intent.clone());
    row.refunded_minor = Set(after.refunded_minor);
    row.last_error = Set(after.last_error.clone());
    row.updated_at = Set(now);
    if before.status != LinkStatus::Completed && after.status == LinkStatus::Completed {
        row.completed_at = Set(Some(now));
    }
    let link = row.update(txn).await?;

    if !before.is_paid() && after.is_paid() {
        on_paid(&mut uow, &link).await?;
    }
    if after.refunded_minor > before.refunded_minor {
        on_refunded(&mut uow, &link).await?;
    }
    if before.status != after.status || before.payment != after.payment {
        audit::record(
            uow.txn(),
            &stripe_actor(&link.organization_id),
            &format!("payment_link.{}", after.status.as_str()),
            "payment_link",
            &link.id,
            json!({ "payment_status": after.payment.as_str(), "from": before.status.as_str() }),
        )
        .await?;
    }
    uow.commit().await?;
    Ok(link)
}

fn subject(l: &payment_link::Model) -> Subject {
    Subject::parse(&l.subject_kind).unwrap_or(Subject::Invoice)
}

async fn on_paid(uow: &mut UnitOfWork, link: &payment_link::Model) -> Result<(), DbErr> {
    let txn = uow.txn();
    let org = &link.organization_id;
    match subject(link) {
        Subject::Invoice => {
            // Paid whatever it was (even void: the money arrived and staff must see it).
            invoice::Entity::update_many()
                .col_expr(invoice::Column::Status, Expr::value("paid"))
                .col_expr(invoice::Column::UpdatedAt, Expr::value(Utc::now()))
                .filter(invoice::Column::Id.eq(&link.subject_id))
                .filter(invoice::Column::OrganizationId.eq(org))
                .filter(invoice::Column::Status.is_not_in(["paid", "refunded"]))
                .exec(txn)
                .await?;
            if let Some(inv) = invoice::Entity::find_by_id(&link.subject_id)
                .one(txn)
                .await?
            {
                let mut data = payloads::invoice(&inv);
                data["payment"] = payloads::payment(link);
                uow.emit(org, EventType::InvoicePaid, &inv.id, data).await?;
            }
        }
        Subject::Deposit => {
            let confirmed = booking::Entity::update_many()
                .col_expr(booking::Column::Status, Expr::value("confirmed"))
                .col_expr(
                    booking::Column::Revision,
                    sql::incr(booking::Column::Revision),
                )
                .col_expr(booking::Column::UpdatedAt, Expr::value(Utc::now()))
                .filter(booking::Column::Id.eq(&link.subject_id))
                .filter(booking::Column::OrganizationId.eq(org))
                .filter(booking::Column::Status.eq("pending"))
                .exec(txn)
                .await?
                .rows_affected
                > 0;
            if let Some(b) = booking::Entity::find_by_id(&link.subject_id)
                .one(txn)
                .await?
            {
                let currency = currency_of(txn, org).await?;
                let data = payloads::booking(&b, &currency);
                if confirmed {
                    uow.emit(org, EventType::BookingConfirmed, &b.id, data.clone())
                        .await?;
                }
                let mut data = data;
                data["payment"] = payloads::payment(link);
                uow.emit(org, EventType::BookingDepositPaid, &b.id, data)
                    .await?;
            }
        }
    }
    Ok(())
}

async fn on_refunded(uow: &mut UnitOfWork, link: &payment_link::Model) -> Result<(), DbErr> {
    let txn = uow.txn();
    let org = &link.organization_id;
    let fully = link.refunded_minor >= link.amount_minor;
    match subject(link) {
        Subject::Invoice => {
            if fully {
                invoice::Entity::update_many()
                    .col_expr(invoice::Column::Status, Expr::value("refunded"))
                    .col_expr(invoice::Column::UpdatedAt, Expr::value(Utc::now()))
                    .filter(invoice::Column::Id.eq(&link.subject_id))
                    .filter(invoice::Column::OrganizationId.eq(org))
                    .exec(txn)
                    .await?;
            }
            if let Some(inv) = invoice::Entity::find_by_id(&link.subject_id)
                .one(txn)
                .await?
            {
                let mut data = payloads::invoice(&inv);
                data["payment"] = payloads::payment(link);
                uow.emit(org, EventType::InvoiceRefunded, &inv.id, data)
                    .await?;
            }
        }
        Subject::Deposit => {
            if let Some(b) = booking::Entity::find_by_id(&link.subject_id)
                .one(txn)
                .await?
            {
                let mut data = payloads::booking(&b, &currency_of(txn, org).await?);
                data["payment"] = payloads::payment(link);
                uow.emit(org, EventType::BookingDepositRefunded, &b.id, data)
                    .await?;
            }
        }
    }
    Ok(())
}

async fn currency_of(txn: &impl ConnectionTrait, org_id: &str) -> Result<String, DbErr> {
    Ok(organization::Entity::find_by_id(org_id)
        .one(txn)
        .await?
        .map(|o| o.currency)
        .unwrap_or_else(|| "EUR".into()))
}
