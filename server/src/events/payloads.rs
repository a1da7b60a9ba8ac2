//! The `data` of each event, built from the rows it describes (schema version 1).
use serde_json::{Value, json};

use crate::db::entities::{booking, client, invoice, payment_link};

pub fn booking(b: &booking::Model, currency: &str) -> Value {
    json!({
        "id": b.id,
        "resource_id": b.resource_id,
        "client_id": b.client_id,
        "starts_at": b.starts_at,
        "ends_at": b.ends_at,
        "party_size": b.party_size,
        "status": b.status,
        "notes": b.notes,
        "deposit_minor": b.deposit_minor,
        "currency": currency,
        "revision": b.revision,
    })
}

pub fn client(c: &client::Model) -> Value {
    json!({ "id": c.id, "name": c.name, "email": c.email, "phone": c.phone })
}

pub fn invoice(i: &invoice::Model) -> Value {
    json!({
        "id": i.id,
        "number": i.number,
        "client_id": i.client_id,
        "booking_id": i.booking_id,
        "currency": i.currency,
        "total_minor": i.total_minor,
        "due_on": i.due_on,
        "status": i.status,
    })
}

/// The `payment` member of payment events.
pub fn payment(l: &payment_link::Model) -> Value {
    json!({
        "link_id": l.id,
        "amount_minor": l.amount_minor,
        "refunded_minor": l.refunded_minor,
        "currency": l.currency,
        "stripe_payment_intent": l.payment_intent_id,
    })
}
