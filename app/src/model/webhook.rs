//! Outbound webhooks as the dashboard and the API see them, and the rules that check an
//! endpoint before it is saved (the network checks happen on the server).
use serde::{Deserialize, Serialize};

use crate::error::{AppError, FieldError};

pub const FORMATS: [(&str, &str); 2] = [
    ("standard", "Standard Webhooks: {type, timestamp, data}"),
    ("flat", "Flat fields, for Zapier-style tools"),
];

/// What a user sets on an endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointInput {
    pub url: String,
    #[serde(default)]
    pub description: String,
    /// Empty: every event type.
    #[serde(default)]
    pub event_types: Vec<String>,
    #[serde(default = "standard")]
    pub format: String,
    /// Extra request headers (e.g. a receiver's own auth token); stored in the vault.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    #[serde(default)]
    pub rate_per_second: Option<u32>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn standard() -> String {
    "standard".into()
}

fn yes() -> bool {
    true
}

/// Headers Hitch sets itself; a custom header may not replace them.
const RESERVED_HEADERS: [&str; 5] = [
    "content-type",
    "content-length",
    "host",
    "user-agent",
    "transfer-encoding",
];

impl EndpointInput {
    /// Shape checks shared by the form and the API; `known_types` is the event catalog.
    pub fn validate(&self, known_types: &[String]) -> Result<(), AppError> {
        let mut errors = Vec::new();
        let url = self.url.trim();
        if url.is_empty() {
            errors.push(FieldError::new(
                "url",
                "Enter the URL that should receive the events.",
            ));
        } else if !(url.starts_with("https://") || url.starts_with("http://")) {
            errors.push(FieldError::new("url", "The URL must start with https://."));
        } else if url.len() > 2000 {
            errors.push(FieldError::new(
                "url",
                "The URL is longer than 2,000 characters.",
            ));
        }
        if self.description.chars().count() > 200 {
            errors.push(FieldError::new(
                "description",
                "Keep the description under 200 characters.",
            ));
        }
        if let Some(t) = self.event_types.iter().find(|t| !known_types.contains(t)) {
            errors.push(FieldError::new(
                "event_types",
                format!("`{t}` is not an event type Hitch sends."),
            ));
        }
        if !FORMATS.iter().any(|(f, _)| *f == self.format) {
            errors.push(FieldError::new("format", "Choose `standard` or `flat`."));
        }
        for (name, value) in &self.headers {
            let lower = name.to_ascii_lowercase();
            let valid = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !valid {
                errors.push(FieldError::new(
                    "headers",
                    format!("`{name}` is not a valid header name."),
                ));
            } else if lower.starts_with("webhook-") || RESERVED_HEADERS.contains(&lower.as_str()) {
                errors.push(FieldError::new(
                    "headers",
                    format!("`{name}` is set by Hitch and cannot be replaced."),
                ));
            } else if value.contains(['\r', '\n']) || value.len() > 4000 {
                errors.push(FieldError::new(
                    "headers",
                    format!("The value of `{name}` is not a valid header value."),
                ));
            }
        }
        if self.headers.len() > 20 {
            errors.push(FieldError::new("headers", "At most 20 custom headers."));
        }
        if let Some(r) = self.rate_per_second
            && !(1..=1000).contains(&r)
        {
            errors.push(FieldError::new(
                "rate_per_second",
                "Use 1 to 1,000 deliveries per second, or leave it empty.",
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation { fields: errors })
        }
    }
}

/// The dashboard form: plain strings, so it also works as a form POST without the WASM.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointForm {
    pub url: String,
    #[serde(default)]
    pub description: String,
    /// Checked boxes; none means every type.
    #[serde(default)]
    pub event_types: Vec<String>,
    #[serde(default = "standard")]
    pub format: String,
    /// One `Name: value` per line.
    #[serde(default)]
    pub headers: String,
    #[serde(default)]
    pub rate_per_second: String,
    /// A checkbox: present when ticked.
    #[serde(default)]
    pub enabled: Option<String>,
}

impl EndpointForm {
    pub fn to_input(&self) -> Result<EndpointInput, AppError> {
        let mut headers = Vec::new();
        for line in self
            .headers
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            let Some((name, value)) = line.split_once(':') else {
                return Err(AppError::field(
                    "headers",
                    format!("Write each header as `Name: value` (line `{line}`)."),
                ));
            };
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
        let rate = self.rate_per_second.trim();
        let rate_per_second = if rate.is_empty() {
            None
        } else {
            Some(rate.parse::<u32>().map_err(|_| {
                AppError::field(
                    "rate_per_second",
                    "Use a whole number of deliveries per second, or leave it empty.",
                )
            })?)
        };
        Ok(EndpointInput {
            url: self.url.trim().to_string(),
            description: self.description.clone(),
            event_types: self.event_types.clone(),
            format: self.format.clone(),
            headers,
            rate_per_second,
            enabled: self.enabled.is_some(),
        })
    }
}

/// An endpoint as shown: secrets masked, health spelled out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointView {
    pub id: String,
    pub url: String,
    pub description: String,
    /// Empty: every event type.
    pub event_types: Vec<String>,
    pub format: String,
    /// Header names with masked values.
    pub headers: Vec<(String, String)>,
    pub rate_per_second: Option<u32>,
    pub enabled: bool,
    /// `dashboard`, `api` or `zapier`.
    pub source: String,
    /// The signing secret, masked (`whsec_...a1B2`).
    pub secret_hint: String,
    /// Until when the previous secret still signs too (rotation in progress).
    pub previous_secret_until: Option<String>,
    /// `healthy`, `failing`, `paused` or `disabled`.
    pub health: String,
    pub consecutive_failures: i32,
    pub failing_since: Option<String>,
    pub paused_until: Option<String>,
    /// Why it is paused, in words.
    pub pause_reason: Option<String>,
    pub disabled_reason: Option<String>,
    /// Deliveries sent at once right now (adapted to how the receiver answers).
    pub in_flight_limit: i32,
    /// The last time Hitch eased off and why, if in the last day.
    pub eased_off: Option<EasedOff>,
    pub created: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EasedOff {
    pub at: String,
    pub reason: String,
}

/// A just-created endpoint or a rotated secret: the one time the secret is shown whole.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointWithSecret {
    pub endpoint: EndpointView,
    pub secret: String,
}

/// Delivery log filters; empty strings mean "any".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryFilter {
    #[serde(default)]
    pub endpoint_id: String,
    #[serde(default)]
    pub event_type: String,
    #[serde(default)]
    pub status: String,
    /// `YYYY-MM-DD` in the organization's time zone, inclusive.
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub page: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryView {
    pub id: String,
    pub endpoint_id: String,
    pub endpoint_url: String,
    pub event_id: String,
    pub event_type: String,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    pub attempts: i32,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub next_attempt: Option<String>,
    pub created: String,
    /// Epoch milliseconds, for sorting and CSV.
    pub created_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptView {
    pub attempt: i32,
    pub started: String,
    pub duration_ms: i32,
    pub request_headers: Vec<(String, String)>,
    pub status_code: Option<i32>,
    pub response_headers: Vec<(String, String)>,
    pub response_body: Option<String>,
    pub error_class: Option<String>,
    pub error: Option<String>,
}

/// One delivery with the request exactly as sent and every attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryDetail {
    pub delivery: DeliveryView,
    pub body: String,
    pub attempts: Vec<AttemptView>,
}

/// One day of an endpoint's (or all endpoints') attempts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DayStats {
    /// `YYYY-MM-DD` in the organization's time zone.
    pub day: String,
    pub attempts: u64,
    pub succeeded: u64,
    pub failed: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WebhookStats {
    pub attempts: u64,
    pub succeeded: u64,
    pub failed: u64,
    /// Share of attempts that succeeded, 0..=1 (none: no attempts yet).
    pub success_rate: Option<f64>,
    pub p50_ms: Option<u32>,
    pub p95_ms: Option<u32>,
    pub days: Vec<DayStats>,
}

/// Result of a bulk replay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayResult {
    /// Failed deliveries queued again.
    pub requeued: u64,
    /// Events that never reached the endpoint (it was disabled), now queued.
    pub recovered: u64,
    /// True when the window held more than one replay takes; run it again for the rest.
    pub truncated: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Vec<String> {
        vec!["booking.created".into(), "invoice.paid".into()]
    }

    fn input(url: &str) -> EndpointInput {
        EndpointInput {
            url: url.into(),
            format: "standard".into(),
            enabled: true,
            ..EndpointInput::default()
        }
    }

    fn fields(e: AppError) -> Vec<String> {
        match e {
            AppError::Validation { fields } => fields.into_iter().map(|f| f.field).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_form_reads_headers_and_rate() {
        let form = EndpointForm {
            url: " https://example.com/h ".into(),
            headers: "X-Token: abc:def\n\nX-Team: ops".into(),
            rate_per_second: "5".into(),
            enabled: Some("on".into()),
            format: "flat".into(),
            ..EndpointForm::default()
        };
        let i = form.to_input().unwrap();
        assert_eq!(i.url, "https://example.com/h");
        assert_eq!(
            i.headers,
            vec![
                ("X-Token".into(), "abc:def".into()),
                ("X-Team".into(), "ops".into())
            ]
        );
        assert_eq!(i.rate_per_second, Some(5));
        assert!(i.enabled);
        let bad = EndpointForm {
            headers: "no colon".into(),
            ..form.clone()
        };
        assert_eq!(fields(bad.to_input().unwrap_err()), ["headers"]);
        let bad = EndpointForm {
            rate_per_second: "fast".into(),
            ..form
        };
        assert_eq!(fields(bad.to_input().unwrap_err()), ["rate_per_second"]);
    }

    #[test]
    fn accepts_a_plain_endpoint() {
        assert_eq!(input("https://example.com/hook").validate(&known()), Ok(()));
    }

    #[test]
    fn names_each_bad_field() {
        let mut i = input("ftp://x");
        i.event_types = vec!["booking.exploded".into()];
        i.format = "xml".into();
        i.headers = vec![
            ("Webhook-Signature".into(), "x".into()),
            ("bad name".into(), "v".into()),
        ];
        i.rate_per_second = Some(0);
        assert_eq!(
            fields(i.validate(&known()).unwrap_err()),
            [
                "url",
                "event_types",
                "format",
                "headers",
                "headers",
                "rate_per_second"
            ]
        );
        assert_eq!(fields(input("").validate(&known()).unwrap_err()), ["url"]);
    }
}
