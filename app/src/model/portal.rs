//! The guest self-service portal (`/manage/{token}`): what the guest sees and may do.
use serde::{Deserialize, Serialize};

use crate::model::booking::BookingStatus;
use crate::model::payment::DepositState;

/// What a manage link lets its holder do.
pub const SCOPES: [&str; 4] = ["view", "reschedule", "cancel", "pay"];

/// The booking as its guest sees it, with what they may do now and why not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalView {
    pub org_name: String,
    pub guest_name: String,
    pub resource_name: String,
    /// "Thursday 24 December 2026", "19:00", "21:00": organization time.
    pub date_label: String,
    pub date: String,
    pub start_time: String,
    pub end_time: String,
    pub time_zone: String,
    pub party_size: u32,
    pub status: BookingStatus,
    pub deposit: DepositState,
    pub deposit_label: Option<String>,
    /// `None` when the guest may cancel, else why not.
    pub cancel_blocked: Option<String>,
    pub reschedule_blocked: Option<String>,
    /// Whether a "Pay the deposit" button is shown.
    pub can_pay: bool,
    /// The latest moment to cancel online, for the page's fine print.
    pub cancel_until: Option<String>,
    /// The guest asked for no reminders.
    pub reminders_off: bool,
}

/// A guest's reschedule request: a new day and start time, same length.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RescheduleInput {
    #[serde(default)]
    pub date: String,
    #[serde(default)]
    pub start_time: String,
}

/// The manage link as staff see it on the booking.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestLinkView {
    pub url: String,
    pub created: String,
    pub last_used: Option<String>,
}
