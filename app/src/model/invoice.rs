//! Invoices with line items; amounts in minor units of the invoice currency.
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::{AppError, FieldError};
use crate::model::money::parse_amount;
use crate::model::text;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    Draft,
    Sent,
    Paid,
    Overdue,
    Void,
    Refunded,
}

impl InvoiceStatus {
    pub const ALL: [InvoiceStatus; 6] = [
        InvoiceStatus::Draft,
        InvoiceStatus::Sent,
        InvoiceStatus::Paid,
        InvoiceStatus::Overdue,
        InvoiceStatus::Void,
        InvoiceStatus::Refunded,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceStatus::Draft => "draft",
            InvoiceStatus::Sent => "sent",
            InvoiceStatus::Paid => "paid",
            InvoiceStatus::Overdue => "overdue",
            InvoiceStatus::Void => "void",
            InvoiceStatus::Refunded => "refunded",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            InvoiceStatus::Draft => "Draft",
            InvoiceStatus::Sent => "Sent",
            InvoiceStatus::Paid => "Paid",
            InvoiceStatus::Overdue => "Overdue",
            InvoiceStatus::Void => "Void",
            InvoiceStatus::Refunded => "Refunded",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }
    /// The moves a person may make by hand; paid and refunded later also come from Stripe.
    pub fn next_states(self) -> &'static [InvoiceStatus] {
        use InvoiceStatus::*;
        match self {
            Draft => &[Sent, Void],
            Sent => &[Paid, Overdue, Void],
            Overdue => &[Paid, Void],
            Paid => &[Refunded],
            Void | Refunded => &[],
        }
    }
    pub fn can_become(self, next: InvoiceStatus) -> bool {
        self.next_states().contains(&next)
    }
    /// Button text for moving into this state.
    pub fn action_label(self) -> &'static str {
        match self {
            InvoiceStatus::Draft => "Back to draft",
            InvoiceStatus::Sent => "Mark as sent",
            InvoiceStatus::Paid => "Mark as paid",
            InvoiceStatus::Overdue => "Mark overdue",
            InvoiceStatus::Void => "Void",
            InvoiceStatus::Refunded => "Mark refunded",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceLineView {
    pub description: String,
    pub quantity: u32,
    pub unit_amount_minor: i64,
    pub unit_label: String,
    pub amount_label: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceView {
    pub id: String,
    pub number: String,
    pub client_id: String,
    pub client_name: String,
    pub booking_id: Option<String>,
    pub currency: String,
    pub lines: Vec<InvoiceLineView>,
    pub total_minor: i64,
    pub total_label: String,
    pub due_on: String,
    pub status: InvoiceStatus,
    pub notes: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineInput {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub quantity: String,
    #[serde(default)]
    pub unit_amount: String,
}

impl LineInput {
    fn is_blank(&self) -> bool {
        self.description.trim().is_empty()
            && self.quantity.trim().is_empty()
            && self.unit_amount.trim().is_empty()
    }
}

/// The invoice form as submitted. Blank line rows are ignored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvoiceInput {
    pub client_id: String,
    #[serde(default)]
    pub booking_id: String,
    pub due_on: String,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub lines: Vec<LineInput>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidLine {
    pub description: String,
    pub quantity: u32,
    pub unit_amount_minor: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidInvoice {
    pub client_id: String,
    pub booking_id: Option<String>,
    pub due_on: NaiveDate,
    pub notes: String,
    pub lines: Vec<ValidLine>,
}

impl ValidInvoice {
    pub fn total_minor(&self) -> i64 {
        self.lines
            .iter()
            .map(|l| l.unit_amount_minor * i64::from(l.quantity))
            .sum()
    }
}

pub const MAX_LINES: usize = 50;

impl InvoiceInput {
    pub fn validate(&self, currency: &str) -> Result<ValidInvoice, AppError> {
        let mut errors = Vec::new();
        if self.client_id.trim().is_empty() {
            errors.push(FieldError::new(
                "client_id",
                "Choose who the invoice is for.",
            ));
        }
        let due_on = NaiveDate::parse_from_str(self.due_on.trim(), "%Y-%m-%d").ok();
        if due_on.is_none() {
            errors.push(FieldError::new(
                "due_on",
                "Enter a due date like 2026-12-31.",
            ));
        }
        if self.notes.chars().count() > 2000 {
            errors.push(FieldError::new(
                "notes",
                "Keep notes under 2000 characters.",
            ));
        }
        text::check_multiline("notes", &self.notes, &mut errors);
        let mut lines = Vec::new();
        if self.lines.len() > MAX_LINES {
            errors.push(FieldError::new(
                "lines",
                format!("An invoice has at most {MAX_LINES} lines."),
            ));
        }
        for (i, line) in self.lines.iter().enumerate().filter(|(_, l)| !l.is_blank()) {
            let description = line.description.trim().to_string();
            if description.is_empty() || description.chars().count() > 200 {
                errors.push(FieldError::new(
                    format!("lines.{i}.description"),
                    "Describe the line (up to 200 characters).",
                ));
            }
            text::check_line(&format!("lines.{i}.description"), &description, &mut errors);
            let quantity = match line.quantity.trim() {
                "" => Some(1),
                q => q.parse::<u32>().ok().filter(|q| (1..=10_000).contains(q)),
            };
            if quantity.is_none() {
                errors.push(FieldError::new(
                    format!("lines.{i}.quantity"),
                    "Quantity is a whole number from 1 to 10000.",
                ));
            }
            let amount = match parse_amount(&line.unit_amount, currency) {
                Ok(0) if line.unit_amount.trim().is_empty() => Err("Enter the price.".to_string()),
                other => other,
            };
            if let Err(m) = &amount {
                errors.push(FieldError::new(format!("lines.{i}.unit_amount"), m.clone()));
            }
            if let (Some(quantity), Ok(unit_amount_minor)) = (quantity, amount) {
                lines.push(ValidLine {
                    description,
                    quantity,
                    unit_amount_minor,
                });
            }
        }
        if self.lines.iter().all(LineInput::is_blank) {
            errors.push(FieldError::new("lines", "Add at least one line."));
        }
        match (errors.is_empty(), due_on) {
            (true, Some(due_on)) => Ok(ValidInvoice {
                client_id: self.client_id.trim().to_string(),
                booking_id: Some(self.booking_id.trim().to_string()).filter(|b| !b.is_empty()),
                due_on,
                notes: self.notes.trim().to_string(),
                lines,
            }),
            _ => Err(AppError::Validation { fields: errors }),
        }
    }
}

/// What the invoice form needs for its selects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceFormOptions {
    pub clients: Vec<crate::model::client::ClientView>,
    pub currency: String,
    pub default_due_on: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(d: &str, q: &str, a: &str) -> LineInput {
        LineInput {
            description: d.into(),
            quantity: q.into(),
            unit_amount: a.into(),
        }
    }

    #[test]
    fn totals_lines_and_skips_blank_rows() {
        let input = InvoiceInput {
            client_id: "cli_1".into(),
            due_on: "2026-12-31".into(),
            lines: vec![
                line("Dinner", "2", "45.00"),
                line("", "", ""),
                line("Wine", "", "30"),
            ],
            ..Default::default()
        };
        let v = input.validate("EUR").expect("valid");
        assert_eq!(v.lines.len(), 2);
        assert_eq!(v.total_minor(), 2 * 4500 + 3000);
    }

    #[test]
    fn names_the_bad_line_fields() {
        let input = InvoiceInput {
            client_id: "cli_1".into(),
            due_on: "soon".into(),
            lines: vec![line("Dinner", "0", "x")],
            ..Default::default()
        };
        let Err(AppError::Validation { fields }) = input.validate("EUR") else {
            panic!("expected error")
        };
        let names: Vec<_> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(names, ["due_on", "lines.0.quantity", "lines.0.unit_amount"]);
    }

    #[test]
    fn an_invoice_needs_a_line() {
        let input = InvoiceInput {
            client_id: "c".into(),
            due_on: "2026-12-31".into(),
            ..Default::default()
        };
        assert_eq!(
            input
                .validate("EUR")
                .unwrap_err()
                .field_message("lines")
                .as_deref(),
            Some("Add at least one line.")
        );
    }

    #[test]
    fn status_moves_follow_the_lifecycle() {
        use InvoiceStatus::*;
        assert!(Draft.can_become(Sent));
        assert!(Sent.can_become(Paid));
        assert!(Paid.can_become(Refunded));
        assert!(!Paid.can_become(Draft));
        assert!(!Void.can_become(Paid));
        assert!(!Draft.can_become(Paid));
    }
}
