//! Bookings: status, the form as submitted, and the checks that need no database.
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, FieldError};
use crate::model::money::parse_amount;
use crate::model::text;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    Pending,
    Confirmed,
    Cancelled,
    Completed,
    NoShow,
}

impl BookingStatus {
    pub const ALL: [BookingStatus; 5] = [
        BookingStatus::Pending,
        BookingStatus::Confirmed,
        BookingStatus::Cancelled,
        BookingStatus::Completed,
        BookingStatus::NoShow,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BookingStatus::Pending => "pending",
            BookingStatus::Confirmed => "confirmed",
            BookingStatus::Cancelled => "cancelled",
            BookingStatus::Completed => "completed",
            BookingStatus::NoShow => "no_show",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            BookingStatus::Pending => "Pending",
            BookingStatus::Confirmed => "Confirmed",
            BookingStatus::Cancelled => "Cancelled",
            BookingStatus::Completed => "Completed",
            BookingStatus::NoShow => "No-show",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }
    /// Only these hold seats: a cancelled or finished booking frees its capacity.
    pub fn holds_capacity(self) -> bool {
        matches!(self, BookingStatus::Pending | BookingStatus::Confirmed)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingView {
    pub id: String,
    pub resource_id: String,
    pub resource_name: String,
    pub client_id: String,
    pub client_name: String,
    /// Local (organization time zone) date and times, as the forms use them.
    pub date: String,
    pub start_time: String,
    pub end_time: String,
    pub party_size: u32,
    pub status: BookingStatus,
    pub notes: String,
    pub deposit_minor: i64,
    pub deposit_label: String,
    pub revision: i64,
}

/// One line of the bookings list: only what the row shows. The page carries 50 of
/// these in its hydration data, so the forms' fields (ids, notes, revision) stay out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingListItem {
    pub id: String,
    pub resource_name: String,
    pub client_name: String,
    /// Local (organization time zone) date and times.
    pub date: String,
    pub start_time: String,
    pub end_time: String,
    pub party_size: u32,
    pub status: BookingStatus,
    /// The deposit as shown ("€40.00"); `None` when the booking asks for none.
    pub deposit: Option<String>,
}

/// The booking form as submitted. Everything is text so that a wrong value becomes a
/// message on its field instead of a rejected request.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookingInput {
    pub resource_id: String,
    pub client_id: String,
    pub date: String,
    pub start_time: String,
    pub end_time: String,
    pub party_size: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub deposit: String,
}

/// A checked booking form; times are local wall time in the organization's zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidBooking {
    pub resource_id: String,
    pub client_id: String,
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    pub party_size: u32,
    pub status: BookingStatus,
    pub notes: String,
    pub deposit_minor: i64,
}

pub const MAX_PARTY: u32 = 500;
pub const MAX_NOTES: usize = 2000;

impl BookingInput {
    pub fn validate(&self, currency: &str) -> Result<ValidBooking, AppError> {
        let mut errors = Vec::new();
        let mut push = |f: &str, m: &str| errors.push(FieldError::new(f, m));

        if self.resource_id.trim().is_empty() {
            push("resource_id", "Choose what is booked.");
        }
        if self.client_id.trim().is_empty() {
            push("client_id", "Choose the guest.");
        }
        let date = NaiveDate::parse_from_str(self.date.trim(), "%Y-%m-%d").ok();
        if date.is_none() {
            push("date", "Enter a date like 2026-12-24.");
        }
        let start = parse_time(&self.start_time);
        if start.is_none() {
            push("start_time", "Enter a start time like 19:30.");
        }
        let end = parse_time(&self.end_time);
        if end.is_none() {
            push("end_time", "Enter an end time like 21:30.");
        }
        if let (Some(s), Some(e)) = (start, end)
            && e <= s
        {
            push("end_time", "The end time must be after the start time.");
        }
        let party = self.party_size.trim().parse::<i64>();
        match party {
            Ok(n) if (1..=MAX_PARTY as i64).contains(&n) => {}
            Ok(_) => push(
                "party_size",
                &format!("Party size must be between 1 and {MAX_PARTY}."),
            ),
            Err(_) => push("party_size", "Enter the number of guests, like 4."),
        }
        let status = match self.status.trim() {
            "" => Some(BookingStatus::Confirmed),
            s => BookingStatus::parse(s).filter(|s| *s != BookingStatus::Cancelled),
        };
        if status.is_none() {
            push(
                "status",
                "Choose pending, confirmed, completed or no-show (cancel with the Cancel button).",
            );
        }
        if self.notes.chars().count() > MAX_NOTES {
            push(
                "notes",
                &format!("Keep notes under {MAX_NOTES} characters."),
            );
        }
        let deposit = parse_amount(&self.deposit, currency);
        if let Err(m) = &deposit {
            push("deposit", m);
        }
        text::check_multiline("notes", &self.notes, &mut errors);

        if !errors.is_empty() {
            return Err(AppError::Validation { fields: errors });
        }
        let (Some(date), Some(s), Some(e), Ok(party), Some(status), Ok(deposit_minor)) =
            (date, start, end, party, status, deposit)
        else {
            return Err(AppError::Internal {
                reference: "booking validation".into(),
            });
        };
        Ok(ValidBooking {
            resource_id: self.resource_id.trim().to_string(),
            client_id: self.client_id.trim().to_string(),
            start: date.and_time(s),
            end: date.and_time(e),
            party_size: party as u32,
            status,
            notes: self.notes.trim().to_string(),
            deposit_minor,
        })
    }
}

fn parse_time(raw: &str) -> Option<NaiveTime> {
    let raw = raw.trim();
    NaiveTime::parse_from_str(raw, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(raw, "%H:%M:%S"))
        .ok()
}

/// Filters of the bookings list, straight from the query string.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingFilter {
    /// Local date, `YYYY-MM-DD`; empty means every day.
    #[serde(default)]
    pub day: String,
    /// A status, or empty for all.
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub page: u64,
}

/// What the booking form needs to offer in its selects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingFormOptions {
    pub resources: Vec<crate::model::resource::ResourceView>,
    pub clients: Vec<crate::model::client::ClientView>,
    pub currency: String,
    pub today: String,
}

/// "1 guest", "4 guests".
pub fn guests(n: i64) -> String {
    if n == 1 {
        "1 guest".into()
    } else {
        format!("{n} guests")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_guest_is_singular() {
        assert_eq!(guests(1), "1 guest");
        assert_eq!(guests(0), "0 guests");
        assert_eq!(guests(12), "12 guests");
    }

    fn input() -> BookingInput {
        BookingInput {
            resource_id: "res_1".into(),
            client_id: "cli_1".into(),
            date: "2026-12-24".into(),
            start_time: "19:00".into(),
            end_time: "21:00".into(),
            party_size: "4".into(),
            status: "".into(),
            notes: " window seat ".into(),
            deposit: "20".into(),
        }
    }

    fn fields(err: AppError) -> Vec<String> {
        match err {
            AppError::Validation { fields } => fields.into_iter().map(|f| f.field).collect(),
            other => panic!("expected validation error, got {other:?}"),
        }
    }

    #[test]
    fn a_good_form_becomes_a_valid_booking() {
        let v = input().validate("EUR").expect("valid");
        assert_eq!(v.start.to_string(), "2026-12-24 19:00:00");
        assert_eq!(v.end.to_string(), "2026-12-24 21:00:00");
        assert_eq!(v.party_size, 4);
        assert_eq!(v.status, BookingStatus::Confirmed);
        assert_eq!(v.notes, "window seat");
        assert_eq!(v.deposit_minor, 2000);
    }

    #[test]
    fn end_before_start_is_an_error_on_the_end_time() {
        let mut i = input();
        i.end_time = "18:00".into();
        assert_eq!(fields(i.validate("EUR").unwrap_err()), ["end_time"]);
    }

    #[test]
    fn wrong_types_are_reported_per_field() {
        let mut i = input();
        i.party_size = "four".into();
        i.date = "24/12/2026".into();
        i.deposit = "lots".into();
        i.status = "cancelled".into();
        assert_eq!(
            fields(i.validate("EUR").unwrap_err()),
            ["date", "party_size", "status", "deposit"]
        );
    }

    #[test]
    fn party_size_is_bounded() {
        let mut i = input();
        i.party_size = "0".into();
        assert_eq!(fields(i.validate("EUR").unwrap_err()), ["party_size"]);
        i.party_size = "501".into();
        assert_eq!(fields(i.validate("EUR").unwrap_err()), ["party_size"]);
    }
}
