//! Stripe payments as the dashboard and the API see them: the organization's Stripe
//! settings, payment links (Checkout Sessions) for invoices and deposits, and refunds.
use serde::{Deserialize, Serialize};

use crate::error::{AppError, FieldError};
use crate::model::money::{format_amount, parse_amount};

/// What a payment link collects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    Invoice,
    /// A booking's deposit (the subject id is the booking's).
    Deposit,
}

impl Subject {
    pub fn as_str(self) -> &'static str {
        match self {
            Subject::Invoice => "invoice",
            Subject::Deposit => "deposit",
        }
    }

    pub fn parse(s: &str) -> Option<Subject> {
        match s {
            "invoice" => Some(Subject::Invoice),
            "deposit" => Some(Subject::Deposit),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkStatus {
    Active,
    Completed,
    Expired,
    Cancelled,
}

impl LinkStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkStatus::Active => "active",
            LinkStatus::Completed => "completed",
            LinkStatus::Expired => "expired",
            LinkStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<LinkStatus> {
        match s {
            "active" => Some(LinkStatus::Active),
            "completed" => Some(LinkStatus::Completed),
            "expired" => Some(LinkStatus::Expired),
            "cancelled" => Some(LinkStatus::Cancelled),
            _ => None,
        }
    }
}

/// Where a booking's deposit stands, as the guest and staff see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DepositState {
    /// The booking asks for no deposit.
    None,
    Due,
    Paid,
    Refunded,
}

impl DepositState {
    pub fn label(self) -> &'static str {
        match self {
            DepositState::None => "No deposit",
            DepositState::Due => "Deposit due",
            DepositState::Paid => "Deposit paid",
            DepositState::Refunded => "Deposit refunded",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundView {
    pub id: String,
    pub amount_minor: i64,
    pub amount_label: String,
    pub reason: String,
    pub status: String,
    /// RFC 3339.
    pub created_at: String,
    pub created_label: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentLinkView {
    pub id: String,
    pub subject: Subject,
    pub subject_id: String,
    /// The Stripe Checkout page the payer opens.
    pub url: String,
    pub amount_minor: i64,
    pub amount_label: String,
    pub currency: String,
    pub status: LinkStatus,
    /// `unpaid`, `paid`, `no_payment_required` or `failed`.
    pub payment_status: String,
    pub paid: bool,
    pub refunded_minor: i64,
    pub refunded_label: String,
    /// The last failed payment attempt, if the payer's card was declined.
    pub last_error: Option<String>,
    /// RFC 3339.
    pub expires_at: String,
    pub created_at: String,
    pub completed_at: Option<String>,
    /// The same moments in the organization's time zone, for people.
    pub expires_label: String,
    pub created_label: String,
    pub completed_label: Option<String>,
    pub refunds: Vec<RefundView>,
}

impl PaymentLinkView {
    /// What is left to refund.
    pub fn refundable_minor(&self) -> i64 {
        if self.paid {
            (self.amount_minor - self.refunded_minor).max(0)
        } else {
            0
        }
    }

    /// One line for staff: "Paid €40.00", "Waiting for payment", …
    pub fn summary(&self) -> String {
        match (self.status, self.paid) {
            (_, true) if self.refunded_minor >= self.amount_minor => {
                format!("Refunded {}", self.refunded_label)
            }
            (_, true) if self.refunded_minor > 0 => format!(
                "Paid {}, {} refunded",
                self.amount_label, self.refunded_label
            ),
            (_, true) => format!("Paid {}", self.amount_label),
            (LinkStatus::Active, false) => "Waiting for payment".into(),
            (LinkStatus::Completed, false) if self.payment_status == "failed" => {
                "The payment failed".into()
            }
            (LinkStatus::Completed, false) => "Payment processing (bank transfer or debit)".into(),
            (LinkStatus::Expired, false) => "Expired unpaid".into(),
            (LinkStatus::Cancelled, false) => "Cancelled".into(),
        }
    }
}

/// Everything the payment panel of an invoice or deposit shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentOverview {
    /// Newest first.
    pub links: Vec<PaymentLinkView>,
    /// Whether the organization has Stripe keys.
    pub stripe_ready: bool,
    /// What a new link would collect ("€25.00"), when one can be made.
    pub amount_label: Option<String>,
    /// Why no new link can be made (already paid, void, no deposit, …).
    pub blocked: Option<String>,
}

/// The organization's Stripe set-up; keys only ever as masked hints.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StripeSettingsView {
    pub configured: bool,
    pub secret_key_hint: Option<String>,
    pub webhook_secret_hint: Option<String>,
    /// `Some(true)` for live keys; test mode otherwise.
    pub livemode: Option<bool>,
    pub account_id: Option<String>,
    pub account_name: Option<String>,
    /// When the connection was last checked (organization time), and what failed.
    pub checked_at: Option<String>,
    pub check_error: Option<String>,
    /// The address to paste into Stripe's dashboard as the webhook endpoint.
    pub webhook_url: String,
}

/// The Stripe settings form. An empty field keeps the stored key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StripeSettingsInput {
    #[serde(default)]
    pub secret_key: String,
    #[serde(default)]
    pub webhook_secret: String,
}

impl StripeSettingsInput {
    /// Checks the shapes Stripe gives keys; `has_stored` says whether an empty field may
    /// keep what is saved.
    pub fn validate(&self, has_stored: (bool, bool)) -> Result<(), AppError> {
        let mut fields = Vec::new();
        let key = self.secret_key.trim();
        if key.is_empty() {
            if !has_stored.0 {
                fields.push(FieldError::new(
                    "secret_key",
                    "Paste your Stripe secret key (Developers → API keys).",
                ));
            }
        } else if !(key.starts_with("sk_test_")
            || key.starts_with("sk_live_")
            || key.starts_with("rk_test_")
            || key.starts_with("rk_live_"))
            || key.len() < 20
            || key.chars().any(char::is_whitespace)
        {
            fields.push(FieldError::new(
                "secret_key",
                "A Stripe secret key starts with sk_test_, sk_live_, rk_test_ or rk_live_. \
                 The publishable key (pk_…) will not work here.",
            ));
        }
        let whsec = self.webhook_secret.trim();
        if whsec.is_empty() {
            if !has_stored.1 {
                fields.push(FieldError::new(
                    "webhook_secret",
                    "Paste the endpoint's signing secret (whsec_…) from Stripe's webhook page.",
                ));
            }
        } else if !whsec.starts_with("whsec_")
            || whsec.len() < 12
            || whsec.chars().any(char::is_whitespace)
        {
            fields.push(FieldError::new(
                "webhook_secret",
                "A webhook signing secret starts with whsec_.",
            ));
        }
        if fields.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation { fields })
        }
    }
}

/// Test or live, from a secret key's prefix.
pub fn key_is_live(key: &str) -> bool {
    key.starts_with("sk_live_") || key.starts_with("rk_live_")
}

/// A refund as asked for in the form: empty amount = everything left.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundInput {
    #[serde(default)]
    pub amount: String,
    #[serde(default)]
    pub reason: String,
}

impl RefundInput {
    /// The amount in minor units (`None` = all that is left), checked against what is left.
    pub fn amount_minor(&self, currency: &str, refundable: i64) -> Result<Option<i64>, AppError> {
        if refundable <= 0 {
            return Err(AppError::InvalidTransition {
                detail: "Nothing is left to refund on this payment.".into(),
            });
        }
        if self.amount.trim().is_empty() {
            return Ok(None);
        }
        let minor =
            parse_amount(&self.amount, currency).map_err(|m| AppError::field("amount", m))?;
        if minor <= 0 {
            return Err(AppError::field("amount", "Enter an amount above zero."));
        }
        if minor > refundable {
            return Err(AppError::field(
                "amount",
                format!(
                    "At most {} is left to refund.",
                    format_amount(refundable, currency)
                ),
            ));
        }
        Ok(Some(minor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_accept_stripe_key_shapes_only() {
        let ok = StripeSettingsInput {
            secret_key: "sk_test_51Habcdefghijklmnop".into(),
            webhook_secret: "whsec_abcdefghijkl".into(),
        };
        assert!(ok.validate((false, false)).is_ok());
        let publishable = StripeSettingsInput {
            secret_key: "pk_test_51Habcdefghijklmnop".into(),
            ..ok.clone()
        };
        let err = publishable.validate((false, false)).unwrap_err();
        assert!(
            err.field_message("secret_key")
                .unwrap()
                .contains("publishable")
        );
        let empty = StripeSettingsInput::default();
        assert!(
            empty.validate((true, true)).is_ok(),
            "empty keeps stored keys"
        );
        let err = empty.validate((false, false)).unwrap_err();
        assert!(err.field_message("secret_key").is_some());
        assert!(err.field_message("webhook_secret").is_some());
        assert!(key_is_live("sk_live_x") && !key_is_live("sk_test_x"));
    }

    #[test]
    fn refund_amounts_are_checked_against_what_is_left() {
        let r = |a: &str| RefundInput {
            amount: a.into(),
            reason: String::new(),
        };
        assert_eq!(r("").amount_minor("EUR", 4000), Ok(None));
        assert_eq!(r("12.50").amount_minor("EUR", 4000), Ok(Some(1250)));
        assert!(
            r("40.01")
                .amount_minor("EUR", 4000)
                .unwrap_err()
                .field_message("amount")
                .unwrap()
                .contains("€40.00")
        );
        assert!(r("0").amount_minor("EUR", 4000).is_err());
        assert!(matches!(
            r("").amount_minor("EUR", 0),
            Err(AppError::InvalidTransition { .. })
        ));
    }
}
