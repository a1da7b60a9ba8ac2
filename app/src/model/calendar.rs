//! Calendar feeds: private `.ics` links a calendar app subscribes to.
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// What a feed shows of each booking.
pub const PRIVACY: &[(&str, &str)] = &[
    ("full", "Full details (guest name, party size, notes)"),
    ("busy", "Busy times only"),
];

/// Longest label a feed may have.
pub const MAX_LABEL: usize = 80;
/// Longest a feed may be set to live, in days (a year).
pub const MAX_EXPIRY_DAYS: u32 = 366;

/// A new feed, checked.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedInput {
    pub label: String,
    /// One resource's bookings, or every resource's when `None`.
    pub resource_id: Option<String>,
    /// `full` or `busy`.
    pub privacy: String,
    /// Stops working after this many days; never when `None`.
    pub expires_in_days: Option<u32>,
}

impl FeedInput {
    pub fn validate(&self) -> Result<(), AppError> {
        if self.label.trim().is_empty() {
            return Err(AppError::field(
                "label",
                "Give the feed a name, such as \"Kitchen\" or \"Owner's phone\".",
            ));
        }
        if self.label.chars().count() > MAX_LABEL {
            return Err(AppError::field(
                "label",
                format!("Keep the name under {MAX_LABEL} characters."),
            ));
        }
        if !PRIVACY.iter().any(|(k, _)| *k == self.privacy) {
            return Err(AppError::field(
                "privacy",
                "Choose \"full\" (details) or \"busy\" (busy times only).",
            ));
        }
        if let Some(d) = self.expires_in_days
            && !(1..=MAX_EXPIRY_DAYS).contains(&d)
        {
            return Err(AppError::field(
                "expires_in_days",
                format!("Use 1 to {MAX_EXPIRY_DAYS} days, or leave it empty for no expiry."),
            ));
        }
        Ok(())
    }
}

/// The dashboard form: plain strings, so it also works as a form POST without the WASM.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedForm {
    pub label: String,
    #[serde(default)]
    pub resource_id: String,
    #[serde(default)]
    pub privacy: String,
    #[serde(default)]
    pub expires_in_days: String,
}

impl FeedForm {
    pub fn to_input(&self) -> Result<FeedInput, AppError> {
        let expires_in_days = match self.expires_in_days.trim() {
            "" | "never" => None,
            d => Some(d.parse::<u32>().map_err(|_| {
                AppError::field(
                    "expires_in_days",
                    "Use a whole number of days, or leave it empty for no expiry.",
                )
            })?),
        };
        let input = FeedInput {
            label: self.label.trim().to_string(),
            resource_id: Some(self.resource_id.trim().to_string()).filter(|r| !r.is_empty()),
            privacy: self.privacy.trim().to_string(),
            expires_in_days,
        };
        input.validate()?;
        Ok(input)
    }
}

/// A feed as a manager sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedView {
    pub id: String,
    pub label: String,
    pub resource_id: Option<String>,
    /// "All resources" or the resource's name.
    pub scope: String,
    pub privacy: String,
    /// The subscription link (`https://.../feeds/<token>.ics`).
    pub url: String,
    /// `active`, `expired` or `revoked`.
    pub state: String,
    /// In the organization's time zone, for people.
    pub expires: Option<String>,
    pub created: String,
    pub last_fetched: Option<String>,
    /// RFC 3339 (UTC), for the API.
    pub expires_at: Option<String>,
    pub created_at: String,
    pub last_fetched_at: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(label: &str, privacy: &str, days: &str) -> FeedForm {
        FeedForm {
            label: label.into(),
            resource_id: String::new(),
            privacy: privacy.into(),
            expires_in_days: days.into(),
        }
    }

    #[test]
    fn a_feed_needs_a_name_a_privacy_and_a_sane_expiry() {
        assert!(form("Kitchen", "busy", "").to_input().is_ok());
        assert_eq!(
            form("Kitchen", "full", "30")
                .to_input()
                .unwrap()
                .expires_in_days,
            Some(30)
        );
        let field = |f: FeedForm| match f.to_input() {
            Err(AppError::Validation { fields }) => fields[0].field.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(field(form(" ", "busy", "")), "label");
        assert_eq!(field(form(&"x".repeat(81), "busy", "")), "label");
        assert_eq!(field(form("K", "everything", "")), "privacy");
        assert_eq!(field(form("K", "busy", "0")), "expires_in_days");
        assert_eq!(field(form("K", "busy", "9999")), "expires_in_days");
        assert_eq!(field(form("K", "busy", "soon")), "expires_in_days");
    }
}
