//! Calendar feeds: private `.ics` links a calendar app subscribes to.
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::model::text;

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
        if let Some(problem) = text::line_problem(self.label.trim()) {
            return Err(AppError::field("label", problem));
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

/// Which bookings the calendar view shows: a day (one column per resource) or a week
/// (one column per day), from the URL so it works without JavaScript.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgendaQuery {
    /// `day` (default) or `week`.
    #[serde(default)]
    pub view: String,
    /// `YYYY-MM-DD` in the organization's zone; today when empty.
    #[serde(default)]
    pub date: String,
    /// Only this resource; every resource when empty.
    #[serde(default)]
    pub resource_id: String,
}

/// The calendar view, laid out on the server: columns of positioned bookings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agenda {
    pub view: String,
    pub date: String,
    /// "Sat 5 Dec 2026" or "30 Nov – 6 Dec 2026".
    pub title: String,
    pub prev: String,
    pub next: String,
    pub today: String,
    pub resource_id: String,
    /// (id, name) of every resource, for the filter.
    pub resources: Vec<(String, String)>,
    /// The visible hours, in minutes since local midnight, on whole hours.
    pub first_minute: u32,
    pub last_minute: u32,
    pub columns: Vec<AgendaColumn>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgendaColumn {
    pub label: String,
    pub sublabel: String,
    pub today: bool,
    /// What a booking dropped here moves to: this column's day, and its resource in
    /// the day view (empty in the week view: the booking keeps its resource).
    pub date: String,
    pub resource_id: String,
    pub items: Vec<AgendaItem>,
    /// Time taken in a connected calendar, drawn behind the bookings.
    pub busy: Vec<AgendaBusy>,
}

/// Busy time from a connected calendar (only times are known, never titles).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgendaBusy {
    pub start_minute: u32,
    pub end_minute: u32,
    /// "Busy in Google Calendar 10:00–11:00 · Terrace".
    pub label: String,
}

/// One booking in a column; overlapping bookings share the column side by side.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgendaItem {
    pub booking_id: String,
    /// The stored revision, so a move made from a stale page is refused.
    pub revision: i64,
    /// Whether dragging can move it: it starts and ends on this day.
    pub movable: bool,
    pub resource_id: String,
    /// Minutes since local midnight, clipped to the day.
    pub start_minute: u32,
    pub end_minute: u32,
    /// "19:00–21:00".
    pub time: String,
    pub title: String,
    /// "4 guests · Terrace".
    pub detail: String,
    pub status: String,
    pub lane: u32,
    pub lanes: u32,
    /// What a connected calendar did to this booking, waiting for a decision.
    pub conflict: Option<String>,
}

/// Places items that overlap in time side by side: each gets the first free lane, and
/// every item of a cluster of overlapping ones learns how many lanes the cluster uses.
pub fn assign_lanes(items: &mut [AgendaItem]) {
    items.sort_by_key(|i| (i.start_minute, i.end_minute));
    let mut cluster_start = 0;
    let mut cluster_end = 0;
    let mut lane_ends: Vec<u32> = Vec::new();
    for i in 0..items.len() {
        if i > 0 && items[i].start_minute >= cluster_end {
            let lanes = lane_ends.len() as u32;
            for item in &mut items[cluster_start..i] {
                item.lanes = lanes;
            }
            cluster_start = i;
            lane_ends.clear();
        }
        let lane = match lane_ends
            .iter()
            .position(|end| *end <= items[i].start_minute)
        {
            Some(l) => l,
            None => {
                lane_ends.push(0);
                lane_ends.len() - 1
            }
        };
        lane_ends[lane] = items[i].end_minute;
        items[i].lane = lane as u32;
        cluster_end = if i == cluster_start {
            items[i].end_minute
        } else {
            cluster_end.max(items[i].end_minute)
        };
    }
    let lanes = lane_ends.len() as u32;
    for item in &mut items[cluster_start..] {
        item.lanes = lanes;
    }
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

    fn item(start: u32, end: u32) -> AgendaItem {
        AgendaItem {
            booking_id: format!("{start}-{end}"),
            revision: 0,
            movable: true,
            resource_id: String::new(),
            start_minute: start,
            end_minute: end,
            time: String::new(),
            title: String::new(),
            detail: String::new(),
            status: String::new(),
            lane: 9,
            lanes: 9,
            conflict: None,
        }
    }

    #[test]
    fn overlapping_bookings_sit_side_by_side_and_others_take_the_full_width() {
        let mut items = vec![
            item(600, 720),
            item(660, 780),
            item(700, 720),
            item(800, 860),
        ];
        assign_lanes(&mut items);
        let lanes: Vec<(u32, u32)> = items.iter().map(|i| (i.lane, i.lanes)).collect();
        // 10:00-12:00, 11:00-13:00 and 11:40-12:00 overlap: three lanes; 13:20 is alone.
        assert_eq!(lanes, vec![(0, 3), (1, 3), (2, 3), (0, 1)]);
        let mut touching = vec![item(600, 660), item(660, 720)];
        assign_lanes(&mut touching);
        assert_eq!(
            touching.iter().map(|i| i.lanes).collect::<Vec<_>>(),
            vec![1, 1]
        );
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
