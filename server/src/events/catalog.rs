//! Every domain event type Hitch emits, with what it means and a sample payload. This
//! is the one list the dashboard, the REST API and (later) webhook filters read.
use serde_json::{Value, json};

/// Version of the payload shapes below; bump it when a shape changes incompatibly.
pub const SCHEMA_VERSION: i32 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    BookingCreated,
    BookingUpdated,
    BookingRescheduled,
    BookingConfirmed,
    BookingCancelled,
    BookingDepositPaid,
    BookingDepositRefunded,
    ClientCreated,
    ClientUpdated,
    InvoiceCreated,
    InvoiceSent,
    InvoicePaid,
    InvoiceOverdue,
    InvoiceVoided,
    InvoiceRefunded,
    NotificationFailed,
    ChannelBroken,
}

impl EventType {
    pub const ALL: [EventType; 17] = [
        EventType::BookingCreated,
        EventType::BookingUpdated,
        EventType::BookingRescheduled,
        EventType::BookingConfirmed,
        EventType::BookingCancelled,
        EventType::BookingDepositPaid,
        EventType::BookingDepositRefunded,
        EventType::ClientCreated,
        EventType::ClientUpdated,
        EventType::InvoiceCreated,
        EventType::InvoiceSent,
        EventType::InvoicePaid,
        EventType::InvoiceOverdue,
        EventType::InvoiceVoided,
        EventType::InvoiceRefunded,
        EventType::NotificationFailed,
        EventType::ChannelBroken,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::BookingCreated => "booking.created",
            EventType::BookingUpdated => "booking.updated",
            EventType::BookingRescheduled => "booking.rescheduled",
            EventType::BookingConfirmed => "booking.confirmed",
            EventType::BookingCancelled => "booking.cancelled",
            EventType::BookingDepositPaid => "booking.deposit_paid",
            EventType::BookingDepositRefunded => "booking.deposit_refunded",
            EventType::ClientCreated => "client.created",
            EventType::ClientUpdated => "client.updated",
            EventType::InvoiceCreated => "invoice.created",
            EventType::InvoiceSent => "invoice.sent",
            EventType::InvoicePaid => "invoice.paid",
            EventType::InvoiceOverdue => "invoice.overdue",
            EventType::InvoiceVoided => "invoice.voided",
            EventType::InvoiceRefunded => "invoice.refunded",
            EventType::NotificationFailed => "notification.failed",
            EventType::ChannelBroken => "channel.broken",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The kind of record the event is about (`booking`, `client`, `invoice`,
    /// `notification`, `channel`).
    pub fn entity_kind(self) -> &'static str {
        self.as_str().split('.').next().unwrap_or_default()
    }

    pub fn description(self) -> &'static str {
        match self {
            EventType::BookingCreated => "A booking was made, by staff, a guest or the API.",
            EventType::BookingUpdated => {
                "A booking's details changed (party size, notes, deposit, status)."
            }
            EventType::BookingRescheduled => {
                "A booking moved to another time or resource; 'previous' holds the old slot."
            }
            EventType::BookingConfirmed => "A pending booking was confirmed.",
            EventType::BookingCancelled => {
                "A booking was cancelled; its seats are free again; 'reason' says why."
            }
            EventType::BookingDepositPaid => {
                "The guest paid the booking's deposit through Stripe; 'payment' has the amounts."
            }
            EventType::BookingDepositRefunded => {
                "Some or all of a paid deposit was refunded; 'payment' has the amounts."
            }
            EventType::ClientCreated => "A guest was added to the client list.",
            EventType::ClientUpdated => "A guest's name, email or phone changed.",
            EventType::InvoiceCreated => "An invoice was drafted.",
            EventType::InvoiceSent => "An invoice was sent to the client.",
            EventType::InvoicePaid => {
                "An invoice was paid in full; 'payment' is set when it was paid through Stripe."
            }
            EventType::InvoiceOverdue => "An invoice passed its due date unpaid.",
            EventType::InvoiceVoided => "An invoice was voided and will not be collected.",
            EventType::InvoiceRefunded => {
                "Some or all of a paid invoice was refunded; 'payment' has the amounts."
            }
            EventType::NotificationFailed => {
                "A notification could not be sent and was given up; 'error' says why."
            }
            EventType::ChannelBroken => {
                "A notification channel stopped working (removed webhook, wrong credentials)."
            }
        }
    }

    /// A payload of the exact shape this event carries, with invented values.
    pub fn sample(self) -> Value {
        match self.entity_kind() {
            "booking" => {
                let mut b = sample_booking();
                if self == EventType::BookingRescheduled {
                    b["previous"] = json!({
                        "resource_id": "res_01jd0000000000000000000001",
                        "starts_at": "2026-12-24T17:00:00Z",
                        "ends_at": "2026-12-24T19:00:00Z"
                    });
                }
                if self == EventType::BookingCancelled {
                    b["status"] = json!("cancelled");
                    b["reason"] = json!("Guest called to cancel");
                }
                if self == EventType::BookingConfirmed {
                    b["status"] = json!("confirmed");
                }
                if self == EventType::BookingDepositPaid {
                    b["status"] = json!("confirmed");
                    b["payment"] = sample_payment(2000, 0);
                }
                if self == EventType::BookingDepositRefunded {
                    b["payment"] = sample_payment(2000, 2000);
                }
                b
            }
            "notification" => json!({
                "id": "ntf_01jd0000000000000000000006",
                "channel_id": "nch_01jd0000000000000000000007",
                "channel_name": "Front desk Slack",
                "event_type": "booking.created",
                "entity_id": "bk_01jd0000000000000000000004",
                "attempts": 6,
                "error": "Slack answered 500: internal_error"
            }),
            "channel" => json!({
                "id": "nch_01jd0000000000000000000007",
                "name": "Front desk Slack",
                "kind": "slack",
                "reason": "Slack answered 404: no_service"
            }),
            "client" => json!({
                "id": "cli_01jd0000000000000000000002",
                "name": "Ada Lovelace",
                "email": "ada@example.com",
                "phone": "+33 6 12 34 56 78"
            }),
            _ => {
                let status = match self {
                    EventType::InvoiceCreated => "draft",
                    EventType::InvoiceSent => "sent",
                    EventType::InvoicePaid => "paid",
                    EventType::InvoiceOverdue => "overdue",
                    EventType::InvoiceVoided => "void",
                    _ => "refunded",
                };
                let mut i = json!({
                    "id": "inv_01jd0000000000000000000003",
                    "number": "INV-00042",
                    "client_id": "cli_01jd0000000000000000000002",
                    "booking_id": "bk_01jd0000000000000000000004",
                    "currency": "EUR",
                    "total_minor": 12800,
                    "due_on": "2026-12-31",
                    "status": status
                });
                match self {
                    EventType::InvoicePaid => i["payment"] = sample_payment(12800, 0),
                    EventType::InvoiceRefunded => i["payment"] = sample_payment(12800, 12800),
                    _ => {}
                }
                i
            }
        }
    }
}

fn sample_payment(amount: i64, refunded: i64) -> Value {
    json!({
        "link_id": "pl_01jd0000000000000000000005",
        "amount_minor": amount,
        "refunded_minor": refunded,
        "currency": "EUR",
        "stripe_payment_intent": "pi_3Nexample"
    })
}

fn sample_booking() -> Value {
    json!({
        "id": "bk_01jd0000000000000000000004",
        "resource_id": "res_01jd0000000000000000000001",
        "client_id": "cli_01jd0000000000000000000002",
        "starts_at": "2026-12-24T18:00:00Z",
        "ends_at": "2026-12-24T20:00:00Z",
        "party_size": 4,
        "status": "pending",
        "notes": "Window table if possible",
        "deposit_minor": 2000,
        "currency": "EUR",
        "revision": 2
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_and_has_a_sample_of_its_entity() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
            let sample = t.sample();
            let prefix = match t.entity_kind() {
                "booking" => "bk_",
                "client" => "cli_",
                "invoice" => "inv_",
                "notification" => "ntf_",
                "channel" => "nch_",
                other => panic!("unexpected entity kind {other}"),
            };
            assert!(
                sample["id"]
                    .as_str()
                    .is_some_and(|id| id.starts_with(prefix)),
                "{} sample has no {prefix} id",
                t.as_str()
            );
        }
        assert_eq!(EventType::parse("booking.exploded"), None);
    }
}
