//! Hitch's own template for every event type and family, so notifications work as soon
//! as a channel is connected. Email and SMS speak to the guest or client; Slack and
//! Discord speak to the team.
use app::model::notification::REMINDER;

/// (subject, body) of the default template.
pub fn template(event_type: &str, family: &str) -> (String, String) {
    let chat = matches!(family, "slack" | "discord");
    let (subject, body) = if chat {
        team(event_type)
    } else {
        guest(event_type)
    };
    if family == "sms" {
        return (String::new(), sms(event_type));
    }
    (subject.to_string(), body.to_string())
}

/// Every event type a template or rule may name: the domain events and reminders.
pub fn event_types() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = crate::events::EventType::ALL
        .iter()
        .map(|t| t.as_str())
        .collect();
    all.push(REMINDER);
    all
}

fn team(event_type: &str) -> (&'static str, &'static str) {
    match event_type {
        "booking.created" => (
            "New booking: {{ guest.name }}",
            "{{ guest.name }}, party of {{ booking.party_size }}, {{ resource.name }}\n{{ booking.starts_at|datetime }} ({{ booking.status }}){% if booking.notes %}\nNotes: {{ booking.notes }}{% endif %}",
        ),
        "booking.updated" => (
            "Booking changed: {{ guest.name }}",
            "{{ guest.name }}, party of {{ booking.party_size }}, {{ resource.name }}\n{{ booking.starts_at|datetime }} ({{ booking.status }})",
        ),
        "booking.rescheduled" => (
            "Booking moved: {{ guest.name }}",
            "{{ guest.name }} moved from {{ booking.previous_starts_at|datetime }} to {{ booking.starts_at|datetime }}, {{ resource.name }}",
        ),
        "booking.confirmed" => (
            "Booking confirmed: {{ guest.name }}",
            "{{ guest.name }}, party of {{ booking.party_size }}, {{ booking.starts_at|datetime }}",
        ),
        "booking.cancelled" => (
            "Booking cancelled: {{ guest.name }}",
            "{{ guest.name }}, {{ booking.starts_at|datetime }}, {{ resource.name }}{% if booking.reason %}\nReason: {{ booking.reason }}{% endif %}",
        ),
        "booking.deposit_paid" => (
            "Deposit paid: {{ guest.name }}",
            "{{ booking.deposit_minor|money }} for {{ booking.starts_at|datetime }}",
        ),
        "booking.deposit_refunded" => (
            "Deposit refunded: {{ guest.name }}",
            "{{ guest.name }}, booking on {{ booking.starts_at|datetime }}",
        ),
        REMINDER => (
            "Coming up: {{ guest.name }}",
            "{{ guest.name }}, party of {{ booking.party_size }}, {{ booking.starts_at|datetime }}, {{ resource.name }}",
        ),
        "invoice.created" => (
            "Invoice drafted: {{ invoice.number }}",
            "{{ client.name }}: {{ invoice.total_minor|money(invoice.currency) }}",
        ),
        "invoice.sent" => (
            "Invoice sent: {{ invoice.number }}",
            "{{ client.name }}: {{ invoice.total_minor|money(invoice.currency) }}, due {{ invoice.due_on|date }}",
        ),
        "invoice.paid" => (
            "Invoice paid: {{ invoice.number }}",
            "{{ client.name }} paid {{ invoice.total_minor|money(invoice.currency) }}",
        ),
        "invoice.overdue" => (
            "Invoice overdue: {{ invoice.number }}",
            "{{ client.name }}: {{ invoice.total_minor|money(invoice.currency) }} was due {{ invoice.due_on|date }}",
        ),
        "invoice.voided" => (
            "Invoice voided: {{ invoice.number }}",
            "{{ client.name }}: {{ invoice.total_minor|money(invoice.currency) }}",
        ),
        "invoice.refunded" => (
            "Invoice refunded: {{ invoice.number }}",
            "{{ client.name }}: {{ invoice.number }} was refunded",
        ),
        "notification.failed" => (
            "A notification failed: {{ notification.channel_name }}",
            "A {{ notification.event_type }} message on {{ notification.channel_name }} was given up after {{ notification.attempts }} tries.\nError: {{ notification.error }}",
        ),
        "channel.broken" => (
            "Channel broken: {{ channel.name }}",
            "{{ channel.name }} ({{ channel.kind }}) stopped working and sends nothing until it is reconnected.\nReason: {{ channel.reason }}",
        ),
        "client.created" => (
            "New client: {{ client.name }}",
            "{{ client.name }}{% if client.email %}, {{ client.email }}{% endif %}",
        ),
        _ => (
            "Client updated: {{ client.name }}",
            "{{ client.name }}{% if client.email %}, {{ client.email }}{% endif %}",
        ),
    }
}

fn guest(event_type: &str) -> (&'static str, &'static str) {
    match event_type {
        // About Hitch itself: the team's wording fits every channel.
        "notification.failed" | "channel.broken" => team(event_type),
        "booking.created" | "booking.confirmed" => (
            "Your booking at {{ org.name }}",
            "Hello {{ guest.name }},\n\nThank you for booking with {{ org.name }}.\n\n{{ booking.starts_at|datetime }}\nParty of {{ booking.party_size }}, {{ resource.name }} ({{ booking.status }})\n\nTo change or cancel it: {{ booking.manage_url }}\n\nSee you soon,\n{{ org.name }}",
        ),
        "booking.updated" => (
            "Your booking at {{ org.name }} was updated",
            "Hello {{ guest.name }},\n\nYour booking was updated:\n{{ booking.starts_at|datetime }}, party of {{ booking.party_size }} ({{ booking.status }})\n\nManage it here: {{ booking.manage_url }}\n\n{{ org.name }}",
        ),
        "booking.rescheduled" => (
            "Your booking at {{ org.name }} moved",
            "Hello {{ guest.name }},\n\nYour booking moved to {{ booking.starts_at|datetime }} (it was {{ booking.previous_starts_at|datetime }}).\n\nManage it here: {{ booking.manage_url }}\n\n{{ org.name }}",
        ),
        "booking.cancelled" => (
            "Your booking at {{ org.name }} is cancelled",
            "Hello {{ guest.name }},\n\nYour booking on {{ booking.starts_at|datetime }} is cancelled.{% if booking.reason %}\nReason: {{ booking.reason }}{% endif %}\n\nWe hope to see you another time,\n{{ org.name }}",
        ),
        "booking.deposit_paid" => (
            "Receipt: your deposit to {{ org.name }}",
            "Hello {{ guest.name }},\n\nWe received your deposit of {{ booking.deposit_minor|money }} for {{ booking.starts_at|datetime }}. Thank you.\n\nManage your booking: {{ booking.manage_url }}\n\n{{ org.name }}",
        ),
        "booking.deposit_refunded" => (
            "Your deposit to {{ org.name }} was refunded",
            "Hello {{ guest.name }},\n\nYour deposit for {{ booking.starts_at|datetime }} was refunded. It can take a few days to show on your statement.\n\n{{ org.name }}",
        ),
        REMINDER => (
            "Reminder: {{ org.name }}, {{ booking.starts_at|date }}",
            "Hello {{ guest.name }},\n\nA reminder of your booking at {{ org.name }}: {{ booking.starts_at|datetime }}, party of {{ booking.party_size }}.\n\nTo change or cancel it: {{ booking.manage_url }}\n\n{{ org.name }}",
        ),
        "invoice.created" | "invoice.sent" => (
            "Invoice {{ invoice.number }} from {{ org.name }}",
            "Hello {{ client.name }},\n\nHere is invoice {{ invoice.number }} for {{ invoice.total_minor|money(invoice.currency) }}, due {{ invoice.due_on|date }}.{% if invoice.pay_url %}\n\nPay online: {{ invoice.pay_url }}{% endif %}\n\nThank you,\n{{ org.name }}",
        ),
        "invoice.overdue" => (
            "Invoice {{ invoice.number }} is overdue",
            "Hello {{ client.name }},\n\nInvoice {{ invoice.number }} for {{ invoice.total_minor|money(invoice.currency) }} was due {{ invoice.due_on|date }}.{% if invoice.pay_url %}\n\nPay online: {{ invoice.pay_url }}{% endif %}\n\n{{ org.name }}",
        ),
        "invoice.paid" => (
            "Receipt: invoice {{ invoice.number }}",
            "Hello {{ client.name }},\n\nWe received {{ invoice.total_minor|money(invoice.currency) }} for invoice {{ invoice.number }}. Thank you.\n\n{{ org.name }}",
        ),
        "invoice.voided" => (
            "Invoice {{ invoice.number }} was cancelled",
            "Hello {{ client.name }},\n\nInvoice {{ invoice.number }} was voided: there is nothing to pay.\n\n{{ org.name }}",
        ),
        "invoice.refunded" => (
            "Refund of invoice {{ invoice.number }}",
            "Hello {{ client.name }},\n\nInvoice {{ invoice.number }} was refunded. It can take a few days to show on your statement.\n\n{{ org.name }}",
        ),
        _ => (
            "Welcome to {{ org.name }}",
            "Hello {{ client.name }},\n\nYou are now on {{ org.name }}'s client list.\n\n{{ org.name }}",
        ),
    }
}

fn sms(event_type: &str) -> String {
    let text = match event_type {
        "booking.created" | "booking.confirmed" => {
            "{{ org.name }}: booked for {{ booking.party_size }} on {{ booking.starts_at|datetime }}. Manage: {{ booking.manage_url }}"
        }
        "booking.rescheduled" => {
            "{{ org.name }}: your booking moved to {{ booking.starts_at|datetime }}. Manage: {{ booking.manage_url }}"
        }
        "booking.cancelled" => {
            "{{ org.name }}: your booking on {{ booking.starts_at|datetime }} is cancelled."
        }
        REMINDER => {
            "Reminder from {{ org.name }}: {{ booking.starts_at|datetime }}, party of {{ booking.party_size }}. Manage: {{ booking.manage_url }}"
        }
        t if t.starts_with("booking.") => {
            "{{ org.name }}: your booking on {{ booking.starts_at|datetime }} was updated. {{ booking.manage_url }}"
        }
        "invoice.paid" => {
            "{{ org.name }}: we received {{ invoice.total_minor|money(invoice.currency) }} for {{ invoice.number }}. Thank you!"
        }
        t if t.starts_with("invoice.") => {
            "{{ org.name }}: invoice {{ invoice.number }}, {{ invoice.total_minor|money(invoice.currency) }}.{% if invoice.pay_url %} Pay: {{ invoice.pay_url }}{% endif %}"
        }
        "notification.failed" => {
            "Hitch: a message on {{ notification.channel_name }} failed: {{ notification.error }}"
        }
        "channel.broken" => "Hitch: {{ channel.name }} stopped working: {{ channel.reason }}",
        _ => "{{ org.name }}: welcome, {{ client.name }}!",
    };
    text.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consumers::notifications::render;

    #[test]
    fn the_dashboard_lists_exactly_the_event_types_the_server_knows() {
        assert_eq!(
            app::model::notification::EVENT_TYPES.to_vec(),
            event_types()
        );
    }

    #[test]
    fn every_default_passes_the_strict_check() {
        for t in event_types() {
            for (family, _) in app::model::notification::FAMILIES {
                let (subject, body) = template(t, family);
                assert_eq!(render::check(&subject, t), Ok(()), "{t}/{family} subject");
                assert_eq!(render::check(&body, t), Ok(()), "{t}/{family} body");
                assert!(!body.is_empty(), "{t}/{family}");
            }
        }
    }
}
