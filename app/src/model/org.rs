//! Organization (tenant) settings.
use serde::{Deserialize, Serialize};

use crate::error::{AppError, FieldError};
use crate::model::money::is_supported_currency;
use crate::model::text;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgSettings {
    pub name: String,
    pub slug: String,
    pub time_zone: String,
    pub currency: String,
    /// Guests may cancel or move online until this many hours before the start.
    pub cancel_cutoff_hours: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgSettingsInput {
    pub name: String,
    pub time_zone: String,
    pub currency: String,
    /// Hours, as typed; empty keeps 24.
    #[serde(default)]
    pub cancel_cutoff_hours: String,
}

/// The longest cutoff accepted: a month.
pub const MAX_CUTOFF_HOURS: u32 = 720;

impl OrgSettingsInput {
    /// The cutoff in hours (24 when empty).
    pub fn cutoff_hours(&self) -> Result<u32, String> {
        let raw = self.cancel_cutoff_hours.trim();
        if raw.is_empty() {
            return Ok(24);
        }
        match raw.parse::<u32>() {
            Ok(h) if h <= MAX_CUTOFF_HOURS => Ok(h),
            _ => Err(format!(
                "Enter a whole number of hours from 0 to {MAX_CUTOFF_HOURS}."
            )),
        }
    }
}

impl OrgSettingsInput {
    /// `known_zone` says whether an IANA zone name exists (the zone database is server-only).
    pub fn validate(
        &self,
        known_zone: impl Fn(&str) -> bool,
    ) -> Result<OrgSettingsInput, AppError> {
        let mut errors = Vec::new();
        let name = self.name.trim().to_string();
        let time_zone = self.time_zone.trim().to_string();
        let currency = self.currency.trim().to_uppercase();
        if name.is_empty() || name.chars().count() > 120 {
            errors.push(FieldError::new(
                "name",
                "Enter the business name (up to 120 characters).",
            ));
        }
        text::check_line("name", &name, &mut errors);
        if !known_zone(&time_zone) {
            errors.push(FieldError::new(
                "time_zone",
                "Choose a time zone like Europe/Paris or America/New_York.",
            ));
        }
        if !is_supported_currency(&currency) {
            errors.push(FieldError::new(
                "currency",
                "Choose one of the listed currencies.",
            ));
        }
        let cutoff = self.cutoff_hours();
        if let Err(m) = &cutoff {
            errors.push(FieldError::new("cancel_cutoff_hours", m.clone()));
        }
        if errors.is_empty() {
            Ok(OrgSettingsInput {
                name,
                time_zone,
                currency,
                cancel_cutoff_hours: cutoff.unwrap_or(24).to_string(),
            })
        } else {
            Err(AppError::Validation { fields: errors })
        }
    }
}

/// One row of the audit log as the settings page lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub entity: String,
}

/// Turns a business name into a URL slug ("Chez Ada & Co" -> "chez-ada-co").
pub fn slugify(name: &str) -> String {
    let mut out = String::new();
    for c in name.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_url_safe() {
        assert_eq!(slugify("Chez Ada & Co"), "chez-ada-co");
        assert_eq!(slugify("  Trattoria  "), "trattoria");
    }

    #[test]
    fn settings_name_each_bad_field() {
        let input = OrgSettingsInput {
            name: "".into(),
            time_zone: "Mars/Olympus".into(),
            currency: "XXX".into(),
            cancel_cutoff_hours: "a day".into(),
        };
        let Err(AppError::Validation { fields }) = input.validate(|z| z == "Europe/Paris") else {
            panic!("expected error")
        };
        assert_eq!(fields.len(), 4);
        let ok = OrgSettingsInput {
            name: "Bistro".into(),
            time_zone: "Europe/Paris".into(),
            currency: "eur".into(),
            cancel_cutoff_hours: " 48 ".into(),
        };
        assert_eq!(
            ok.validate(|_| true).map(|v| v.cancel_cutoff_hours),
            Ok("48".into())
        );
    }
}
