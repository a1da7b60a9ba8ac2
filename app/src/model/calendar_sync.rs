//! Two-way calendar sync as the dashboard shows it: connections, their calendars, and
//! changes made in a calendar that wait for staff.
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Who wins when a booking's event is moved or deleted in the calendar.
pub const STRATEGIES: &[(&str, &str)] = &[
    ("ask", "Ask me first"),
    ("hitch", "Hitch wins: put the event back"),
    ("calendar", "The calendar wins: change the booking"),
];

/// A calendar of the connected account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteCalendarView {
    pub id: String,
    pub summary: String,
    /// Its events block booking slots.
    pub busy: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionView {
    pub id: String,
    /// `google` or `caldav`.
    pub provider: String,
    pub account: String,
    pub resource_id: Option<String>,
    /// "All resources" or the resource's name.
    pub scope_label: String,
    /// `connected` or `reconnect_needed`.
    pub state: String,
    pub syncing: bool,
    /// "5 minutes ago", or "never".
    pub last_sync: String,
    pub last_error: Option<String>,
    /// Google asked Hitch to slow down until this time (local, human).
    pub backoff_until: Option<String>,
    pub target_calendar_id: Option<String>,
    pub strategy: String,
    pub calendars: Vec<RemoteCalendarView>,
    /// Busy blocks held from this connection's calendars.
    pub busy_blocks: u64,
}

/// What staff choose for a connection.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionSettings {
    /// The calendar bookings are written to; empty: do not write bookings.
    pub target_calendar_id: String,
    /// Calendars whose events block slots.
    pub busy: Vec<String>,
    pub strategy: String,
}

impl ConnectionSettings {
    pub fn validate(&self, calendars: &[RemoteCalendarView]) -> Result<(), AppError> {
        if !STRATEGIES.iter().any(|(s, _)| *s == self.strategy) {
            return Err(AppError::field("strategy", "Choose who wins a conflict."));
        }
        let known = |id: &str| calendars.iter().any(|c| c.id == id);
        if !self.target_calendar_id.is_empty() && !known(&self.target_calendar_id) {
            return Err(AppError::field(
                "target_calendar_id",
                "Choose one of this account's calendars.",
            ));
        }
        if let Some(bad) = self.busy.iter().find(|id| !known(id)) {
            return Err(AppError::field(
                "busy",
                format!("{bad} is not one of this account's calendars."),
            ));
        }
        Ok(())
    }
}

/// A change made in a calendar to a booking's event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictView {
    pub id: String,
    pub booking_id: String,
    /// "Ana López (4) · Terrace".
    pub booking_label: String,
    /// `moved` or `deleted`.
    pub kind: String,
    /// The booking's time in Hitch, local.
    pub current: String,
    /// The calendar's time, local; empty for a deletion.
    pub proposed: String,
    pub detail: String,
    /// `open`, `accepted`, `rejected` or `superseded`.
    pub status: String,
    pub decided_by: Option<String>,
    pub when: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarSyncOverview {
    /// The server has a Google OAuth client: the connect button works.
    pub google_configured: bool,
    pub connections: Vec<ConnectionView>,
    pub open_conflicts: Vec<ConflictView>,
    /// The latest decisions, newest first.
    pub decided: Vec<ConflictView>,
    /// (id, name) of the organization's resources, for "connect for".
    pub resources: Vec<(String, String)>,
}

/// A CalDAV account to connect (iCloud, Fastmail, Nextcloud, Radicale, ...).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalDavInput {
    /// The server's address, e.g. `https://caldav.fastmail.com/`.
    pub url: String,
    pub username: String,
    /// The account's password, or an app password where the provider has them.
    pub password: String,
    /// Bookings of one resource; every resource when empty.
    #[serde(default)]
    pub resource_id: String,
}

impl CalDavInput {
    /// Shape checks; whether the server answers is checked by connecting.
    pub fn validate(&self) -> Result<(), AppError> {
        let mut errors = Vec::new();
        let url = self.url.trim();
        if url.is_empty() {
            errors.push(("url", "Enter the CalDAV server's address."));
        } else if url.len() > 500 || !(url.starts_with("https://") || url.starts_with("http://")) {
            errors.push(("url", "Enter an address starting with https://."));
        }
        if self.username.trim().is_empty() {
            errors.push((
                "username",
                "Enter the account's user name (often the email address).",
            ));
        } else if self.username.len() > 200 {
            errors.push(("username", "The user name is too long."));
        }
        if self.password.is_empty() {
            errors.push(("password", "Enter the password or an app password."));
        } else if self.password.len() > 500 {
            errors.push(("password", "The password is too long."));
        }
        if errors.is_empty() {
            return Ok(());
        }
        Err(AppError::Validation {
            fields: errors
                .into_iter()
                .map(|(f, m)| crate::error::FieldError::new(f, m))
                .collect(),
        })
    }
}

#[cfg(test)]
mod caldav_input_tests {
    use super::*;

    #[test]
    fn every_missing_field_is_named() {
        let Err(AppError::Validation { fields }) = CalDavInput::default().validate() else {
            panic!("an empty form is refused");
        };
        let named: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(named, ["url", "username", "password"]);
        let ok = CalDavInput {
            url: "https://caldav.example.com/".into(),
            username: "ada@example.com".into(),
            password: "app-password".into(),
            resource_id: String::new(),
        };
        assert_eq!(ok.validate(), Ok(()));
        let ftp = CalDavInput {
            url: "ftp://example.com".into(),
            ..ok
        };
        assert!(ftp.validate().is_err());
    }
}
