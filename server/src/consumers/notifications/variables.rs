//! The typed catalog of what a template may use, per kind of record an event is about,
//! and the sample context the editor previews with. The job builds the real context in
//! the same shape (`context.rs`); a test keeps the two in step.
use serde_json::{Value, json};

/// (name, type, example) of one variable.
pub type Var = (&'static str, &'static str, &'static str);

const COMMON: &[Var] = &[
    ("org.name", "text", "Chez Ada"),
    ("org.time_zone", "text", "Europe/Paris"),
    ("org.currency", "text", "EUR"),
    (
        "dashboard_url",
        "url",
        "https://hitch.example/bookings/bk_01…",
    ),
];

const BOOKING: &[Var] = &[
    ("booking.id", "text", "bk_01jd0000000000000000000004"),
    (
        "booking.starts_at",
        "time (use |datetime, |date, |time)",
        "2026-12-24T18:00:00Z",
    ),
    ("booking.ends_at", "time", "2026-12-24T20:00:00Z"),
    ("booking.party_size", "number", "4"),
    ("booking.status", "text", "confirmed"),
    ("booking.notes", "text", "Window table if possible"),
    (
        "booking.deposit_minor",
        "money in minor units (use |money)",
        "2000",
    ),
    (
        "booking.reason",
        "text (cancellations)",
        "Guest called to cancel",
    ),
    (
        "booking.previous_starts_at",
        "time (reschedules)",
        "2026-12-24T17:00:00Z",
    ),
    (
        "booking.manage_url",
        "url",
        "https://hitch.example/manage/…",
    ),
    ("guest.name", "text", "Ada Lovelace"),
    ("guest.email", "text", "ada@example.com"),
    ("guest.phone", "text", "+33 6 12 34 56 78"),
    ("resource.name", "text", "Table 4"),
];

const INVOICE: &[Var] = &[
    ("invoice.id", "text", "inv_01jd0000000000000000000003"),
    ("invoice.number", "text", "INV-00042"),
    (
        "invoice.total_minor",
        "money in minor units (use |money)",
        "12800",
    ),
    ("invoice.currency", "text", "EUR"),
    ("invoice.due_on", "date", "2026-12-31"),
    ("invoice.status", "text", "sent"),
    (
        "invoice.pay_url",
        "url (empty without a payment link)",
        "https://checkout.stripe.com/c/pay/cs_test_a1B2c3",
    ),
    ("client.name", "text", "Ada Lovelace"),
    ("client.email", "text", "ada@example.com"),
    ("client.phone", "text", "+33 6 12 34 56 78"),
];

const CLIENT: &[Var] = &[
    ("client.name", "text", "Ada Lovelace"),
    ("client.email", "text", "ada@example.com"),
    ("client.phone", "text", "+33 6 12 34 56 78"),
];

const NOTIFICATION: &[Var] = &[
    ("notification.channel_name", "text", "Front desk Slack"),
    ("notification.event_type", "text", "booking.created"),
    ("notification.attempts", "number", "6"),
    (
        "notification.error",
        "text",
        "Slack answered 500: internal_error",
    ),
];

const CHANNEL: &[Var] = &[
    ("channel.name", "text", "Front desk Slack"),
    ("channel.kind", "text", "slack"),
    ("channel.reason", "text", "Slack answered 404: no_service"),
];

/// Filters every template has: (name, what it does, example).
pub const FILTERS: &[Var] = &[
    (
        "datetime",
        "a time in the organization's time zone",
        "Thu 24 Dec 2026, 19:00",
    ),
    (
        "date",
        "the date part, in the organization's time zone",
        "Thu 24 Dec 2026",
    ),
    (
        "time",
        "the clock time, in the organization's time zone",
        "19:00",
    ),
    (
        "money",
        "minor units in the currency (or the one given)",
        "€128.00",
    ),
];

/// The kind of record an event type is about: `booking`, `invoice` or `client`.
pub fn entity_kind(event_type: &str) -> &str {
    event_type.split('.').next().unwrap_or_default()
}

/// Every variable of an event type, common ones first.
pub fn catalog(event_type: &str) -> Vec<Var> {
    let own = match entity_kind(event_type) {
        "booking" => BOOKING,
        "invoice" => INVOICE,
        "notification" => NOTIFICATION,
        "channel" => CHANNEL,
        _ => CLIENT,
    };
    COMMON.iter().chain(own).copied().collect()
}

/// Whether `path` (as minijinja names it: `booking` or `booking.starts_at`) is in the
/// catalog, as a variable or as the object holding some.
pub fn known(catalog: &[Var], path: &str) -> bool {
    catalog.iter().any(|(name, _, _)| {
        *name == path || (name.starts_with(path) && name.as_bytes().get(path.len()) == Some(&b'.'))
    })
}

/// A context of the catalog's shape filled with its examples.
pub fn sample(event_type: &str) -> Value {
    let mut root = json!({});
    for (name, kind, example) in catalog(event_type) {
        let value = if kind == "number" || kind.starts_with("money") {
            example.parse::<i64>().map_or(json!(example), |n| json!(n))
        } else {
            json!(example)
        };
        set(&mut root, name, value);
    }
    root
}

/// Sets `a.b` in `root`, creating the objects on the way.
pub fn set(root: &mut Value, path: &str, value: Value) {
    let mut at = root;
    let mut parts = path.split('.').peekable();
    while let Some(p) = parts.next() {
        if parts.peek().is_none() {
            at[p] = value;
            return;
        }
        if !at[p].is_object() {
            at[p] = json!({});
        }
        at = &mut at[p];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_and_leaves_are_known_and_near_misses_are_not() {
        let c = catalog("booking.created");
        assert!(known(&c, "booking"));
        assert!(known(&c, "booking.starts_at"));
        assert!(known(&c, "org.name"));
        assert!(!known(&c, "booking.start"));
        assert!(!known(&c, "invoice.number"));
        assert!(!known(&c, "book"));
    }

    #[test]
    fn the_sample_has_every_catalog_variable() {
        for t in ["booking.created", "invoice.sent", "client.created"] {
            let s = sample(t);
            for (name, _, _) in catalog(t) {
                let mut at = &s;
                for p in name.split('.') {
                    at = &at[p];
                }
                assert!(!at.is_null(), "{t}: {name} missing from the sample");
            }
        }
    }
}
