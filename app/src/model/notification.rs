//! Notifications as the dashboard and the API see them: channels, templates, rules and
//! the log, with the checks a channel's settings pass before they are saved, and the SMS
//! segment count (shown live in the editor, so it lives here, not on the server).
use serde::{Deserialize, Serialize};

use crate::error::{AppError, FieldError};
use crate::model::text;

pub use super::sms::{Segments, mask_recipient, sms_segments};

/// Channel kinds: (stored name, label, family).
pub const KINDS: [(&str, &str, &str); 5] = [
    ("slack", "Slack (incoming webhook)", "slack"),
    ("discord", "Discord (webhook)", "discord"),
    ("smtp", "Email over SMTP", "email"),
    ("sendgrid", "Email through SendGrid", "email"),
    ("twilio", "SMS through Twilio", "sms"),
];

/// Template families: one template per event type and family.
pub const FAMILIES: [(&str, &str); 4] = [
    ("email", "Email"),
    ("sms", "SMS"),
    ("slack", "Slack"),
    ("discord", "Discord"),
];

/// Who a rule sends to: (stored name, label).
pub const RECIPIENTS: [(&str, &str); 4] = [
    ("team", "The team"),
    ("guest", "The booking's guest"),
    ("client", "The invoice's client"),
    ("managers", "Managers (email)"),
];

/// Reminders are not a domain event; rules and templates use this name for them.
pub const REMINDER: &str = "booking.reminder";

/// Every event type a rule or template may name: the domain events, then reminders.
/// The server checks this list against its event catalog in a test.
pub const EVENT_TYPES: [&str; 18] = [
    "booking.created",
    "booking.updated",
    "booking.rescheduled",
    "booking.confirmed",
    "booking.cancelled",
    "booking.deposit_paid",
    "booking.deposit_refunded",
    "client.created",
    "client.updated",
    "invoice.created",
    "invoice.sent",
    "invoice.paid",
    "invoice.overdue",
    "invoice.voided",
    "invoice.refunded",
    "notification.failed",
    "channel.broken",
    REMINDER,
];

pub fn event_types_for_rules() -> Vec<&'static str> {
    EVENT_TYPES.to_vec()
}

/// How an event type reads for a busy manager.
pub fn event_label(event_type: &str) -> &'static str {
    match event_type {
        "booking.created" => "New booking",
        "booking.updated" => "Booking changed",
        "booking.rescheduled" => "Booking moved",
        "booking.confirmed" => "Booking confirmed",
        "booking.cancelled" => "Booking cancelled",
        "booking.deposit_paid" => "Deposit paid",
        "booking.deposit_refunded" => "Deposit refunded",
        "client.created" => "New client",
        "client.updated" => "Client changed",
        "invoice.created" => "Invoice drafted",
        "invoice.sent" => "Invoice sent",
        "invoice.paid" => "Invoice paid",
        "invoice.overdue" => "Invoice overdue",
        "invoice.voided" => "Invoice voided",
        "invoice.refunded" => "Invoice refunded",
        "notification.failed" => "A notification failed",
        "channel.broken" => "A channel stopped working",
        REMINDER => "Reminder before a booking",
        "test" => "Test message",
        _ => "Other event",
    }
}

/// SMTP connection security: (stored name, label).
pub const SECURITY: [(&str, &str); 3] = [
    ("starttls", "STARTTLS (port 587)"),
    ("tls", "Implicit TLS (port 465)"),
    ("plain", "None: a local relay only"),
];

pub fn family_of(kind: &str) -> Option<&'static str> {
    KINDS.iter().find(|k| k.0 == kind).map(|k| k.2)
}

pub fn kind_label(kind: &str) -> &'static str {
    KINDS
        .iter()
        .find(|k| k.0 == kind)
        .map_or("Unknown", |k| k.1)
}

/// What a user sets on a channel. Secret parts (`secret`) go to the vault.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelInput {
    pub kind: String,
    pub name: String,
    /// Slack/Discord: the webhook URL; SMTP: the password; SendGrid: the API key;
    /// Twilio: the auth token.
    #[serde(default)]
    pub secret: String,
    #[serde(default)]
    pub settings: ChannelSettings,
    #[serde(default)]
    pub monthly_quota: Option<u32>,
}

/// The parts of a channel that are not secret.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelSettings {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub host: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub security: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    /// Sender: an email address, or a phone number for SMS.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub from: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub from_name: String,
    /// Where "team" messages go on an email or SMS channel.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub team_to: String,
    /// Twilio's account SID (`AC…`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub account_sid: String,
}

fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !s.chars().any(|c| c.is_whitespace() || c == '<' || c == '>')
}

fn looks_like_phone(s: &str) -> bool {
    let digits = s.chars().filter(char::is_ascii_digit).count();
    s.starts_with('+')
        && (8..=15).contains(&digits)
        && s[1..]
            .chars()
            .all(|c| c.is_ascii_digit() || c == ' ' || c == '-')
}

impl ChannelInput {
    /// Shape checks shared by the form and the API (the network checks are the server's).
    pub fn validate(&self, secret_required: bool) -> Result<(), AppError> {
        let mut e = Vec::new();
        let s = &self.settings;
        if family_of(&self.kind).is_none() {
            e.push(FieldError::new(
                "kind",
                "Choose what kind of channel this is.",
            ));
        }
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 80 {
            e.push(FieldError::new(
                "name",
                "Give the channel a name of 1 to 80 characters.",
            ));
        }
        text::check_line("name", name, &mut e);
        let secret = self.secret.trim();
        if secret.len() > 2048 {
            e.push(FieldError::new("secret", "This is too long to be right."));
        }
        let need = |e: &mut Vec<FieldError>, msg: &str| {
            if secret.is_empty() && secret_required {
                e.push(FieldError::new("secret", msg));
            }
        };
        match self.kind.as_str() {
            "slack" => {
                need(&mut e, "Paste the Slack incoming-webhook URL.");
                if !secret.is_empty()
                    && !secret.starts_with("https://")
                    && !secret.starts_with("http://")
                {
                    e.push(FieldError::new(
                        "secret",
                        "A Slack webhook URL starts with https://hooks.slack.com/.",
                    ));
                }
            }
            "discord" => {
                need(&mut e, "Paste the Discord webhook URL.");
                if !secret.is_empty()
                    && !secret.starts_with("https://")
                    && !secret.starts_with("http://")
                {
                    e.push(FieldError::new(
                        "secret",
                        "A Discord webhook URL starts with https://discord.com/api/webhooks/.",
                    ));
                }
            }
            "smtp" => {
                if s.host.trim().is_empty()
                    || s.host.len() > 253
                    || s.host.contains(['/', ' ', '@'])
                {
                    e.push(FieldError::new(
                        "host",
                        "Enter the SMTP server's host name.",
                    ));
                }
                if !SECURITY.iter().any(|(k, _)| *k == s.security) {
                    e.push(FieldError::new(
                        "security",
                        "Choose how to secure the connection.",
                    ));
                }
                if s.port == Some(0) {
                    e.push(FieldError::new("port", "Use a port between 1 and 65535."));
                }
                if !s.username.is_empty() && secret.is_empty() && secret_required {
                    e.push(FieldError::new(
                        "secret",
                        "Enter the password for this user.",
                    ));
                }
            }
            "sendgrid" => need(&mut e, "Paste a SendGrid API key (it starts with SG.)."),
            "twilio" => {
                need(&mut e, "Paste the Twilio auth token.");
                let sid = s.account_sid.trim();
                if !(sid.starts_with("AC")
                    && sid.len() == 34
                    && sid[2..].chars().all(|c| c.is_ascii_hexdigit()))
                {
                    e.push(FieldError::new(
                        "account_sid",
                        "The account SID is AC followed by 32 hexadecimal characters.",
                    ));
                }
                if !looks_like_phone(s.from.trim()) {
                    e.push(FieldError::new(
                        "from",
                        "Enter the sending number in international form, e.g. +14155550100.",
                    ));
                }
                if !s.team_to.trim().is_empty() && !looks_like_phone(s.team_to.trim()) {
                    e.push(FieldError::new(
                        "team_to",
                        "Enter the team's number in international form, e.g. +14155550100.",
                    ));
                }
            }
            _ => {}
        }
        if matches!(self.kind.as_str(), "smtp" | "sendgrid") {
            if !looks_like_email(s.from.trim()) {
                e.push(FieldError::new("from", "Enter the sender's email address."));
            }
            if !s.team_to.trim().is_empty() && !looks_like_email(s.team_to.trim()) {
                e.push(FieldError::new(
                    "team_to",
                    "Enter the team's email address.",
                ));
            }
            if s.from_name.chars().any(|c| c.is_control()) || s.from_name.chars().count() > 80 {
                e.push(FieldError::new(
                    "from_name",
                    "Use up to 80 characters on one line.",
                ));
            }
        }
        if e.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation { fields: e })
        }
    }
}

/// The dashboard form: plain strings, so it also works as a form POST without the WASM.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelForm {
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub secret: String,
    #[serde(default)]
    pub host: String,
    #[serde(default)]
    pub port: String,
    #[serde(default)]
    pub security: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub from_name: String,
    #[serde(default)]
    pub team_to: String,
    #[serde(default)]
    pub account_sid: String,
    #[serde(default)]
    pub monthly_quota: String,
}

impl ChannelForm {
    pub fn to_input(&self) -> Result<ChannelInput, AppError> {
        let port = match self.port.trim() {
            "" => None,
            p => Some(
                p.parse::<u16>()
                    .map_err(|_| AppError::field("port", "Use a port between 1 and 65535."))?,
            ),
        };
        let monthly_quota = match self.monthly_quota.trim() {
            "" => None,
            q => Some(q.parse::<u32>().map_err(|_| {
                AppError::field(
                    "monthly_quota",
                    "Use a whole number of messages per month, or leave it empty for no limit.",
                )
            })?),
        };
        Ok(ChannelInput {
            kind: self.kind.trim().to_string(),
            name: self.name.trim().to_string(),
            secret: self.secret.trim().to_string(),
            settings: ChannelSettings {
                host: self.host.trim().to_string(),
                port,
                security: self.security.trim().to_string(),
                username: self.username.trim().to_string(),
                from: self.from.trim().to_string(),
                from_name: self.from_name.trim().to_string(),
                team_to: self.team_to.trim().to_string(),
                account_sid: self.account_sid.trim().to_string(),
            },
            monthly_quota,
        })
    }
}

/// A channel as shown: the secret masked, health spelled out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelView {
    pub id: String,
    pub kind: String,
    pub kind_label: String,
    pub family: String,
    pub name: String,
    pub secret_hint: String,
    pub settings: ChannelSettings,
    pub enabled: bool,
    /// `healthy`, `degraded`, `failing`, `broken` or `quota_reached`.
    pub health: String,
    pub health_detail: String,
    pub monthly_quota: Option<u32>,
    pub sent_this_month: u64,
    pub created: String,
}

/// One variable a template may use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariableView {
    pub name: String,
    pub kind: String,
    pub example: String,
}

/// A template as edited: the organization's own, or Hitch's default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateView {
    pub event_type: String,
    pub family: String,
    pub subject: String,
    pub body: String,
    pub customized: bool,
    pub variables: Vec<VariableView>,
    pub filters: Vec<VariableView>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateInput {
    pub event_type: String,
    pub family: String,
    #[serde(default)]
    pub subject: String,
    pub body: String,
}

/// Longest template source accepted (per part).
pub const MAX_TEMPLATE_LEN: usize = 20_000;

/// A template rendered with sample data.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preview {
    pub subject: String,
    pub body: String,
    /// Email only: the HTML part.
    pub html: Option<String>,
    /// SMS only.
    pub segments: Option<Segments>,
    /// Set instead of the text when the template does not compile.
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleView {
    pub id: String,
    pub event_type: String,
    pub channel_id: String,
    pub channel_name: String,
    pub recipient: String,
    pub remind_hours: Option<u32>,
    pub enabled: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleInput {
    pub event_type: String,
    pub channel_id: String,
    pub recipient: String,
    #[serde(default)]
    pub remind_hours: Option<u32>,
}

/// The rule form: strings, so it works without the WASM.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleForm {
    pub event_type: String,
    pub channel_id: String,
    pub recipient: String,
    #[serde(default)]
    pub remind_hours: String,
}

impl RuleForm {
    pub fn to_input(&self) -> Result<RuleInput, AppError> {
        let remind_hours = match self.remind_hours.trim() {
            "" => None,
            h => Some(
                h.parse::<u32>()
                    .ok()
                    .filter(|h| (1..=720).contains(h))
                    .ok_or_else(|| {
                        AppError::field("remind_hours", "Use 1 to 720 hours before the booking.")
                    })?,
            ),
        };
        Ok(RuleInput {
            event_type: self.event_type.trim().to_string(),
            channel_id: self.channel_id.trim().to_string(),
            recipient: self.recipient.trim().to_string(),
            remind_hours,
        })
    }
}

/// One log row: the recipient masked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationView {
    pub id: String,
    pub created: String,
    pub channel_id: String,
    pub channel_name: String,
    pub event_type: String,
    pub recipient: String,
    /// `pending`, `sending`, `sent`, `failed` or `skipped`.
    pub status: String,
    pub detail: String,
    pub attempts: i32,
    pub provider_status: Option<i32>,
    pub provider_response: Option<String>,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub send_at: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationFilter {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub channel_id: Option<String>,
    #[serde(default)]
    pub page: u64,
}

/// Sends per channel and day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsDay {
    pub day: String,
    pub sent: u64,
    pub failed: u64,
    pub skipped: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelStats {
    pub channel_id: String,
    pub channel_name: String,
    pub days: Vec<StatsDay>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_twilio_channel_needs_its_sid_and_numbers() {
        let mut c = ChannelInput {
            kind: "twilio".into(),
            name: "SMS".into(),
            secret: "token".into(),
            ..Default::default()
        };
        let Err(AppError::Validation { fields }) = c.validate(true) else {
            panic!("accepted");
        };
        let named: Vec<_> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(named, ["account_sid", "from"]);
        c.settings.account_sid = format!("AC{}", "a1".repeat(16));
        c.settings.from = "+14155550100".into();
        assert_eq!(c.validate(true), Ok(()));
    }
}
