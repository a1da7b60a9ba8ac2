//! Bookable resources (a table, a room, a photographer) and their opening hours.
use chrono::{Datelike, Duration, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceView {
    pub id: String,
    pub name: String,
    /// Guests the resource holds at one moment (sum of overlapping party sizes).
    pub capacity: u32,
    /// Default booking length, used to prefill the end time.
    pub slot_minutes: u32,
    pub opening_hours: OpeningHours,
}

/// Opening window per weekday, Monday first, in minutes after local midnight.
/// A close past 24:00 (up to 48:00) covers places open after midnight.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpeningHours(pub [Option<(u16, u16)>; 7]);

impl OpeningHours {
    pub fn every_day(open: u16, close: u16) -> Self {
        OpeningHours([Some((open, close)); 7])
    }

    /// True when `start..end` (local wall time) lies inside one day's opening window.
    pub fn allows(&self, start: NaiveDateTime, end: NaiveDateTime) -> bool {
        if end <= start {
            return false;
        }
        // The window that holds `start` opened either on start's day or, for a late
        // close, the day before.
        [start.date(), start.date() - Duration::days(1)]
            .into_iter()
            .any(|day| {
                let Some((open, close)) = self.0[day.weekday().num_days_from_monday() as usize]
                else {
                    return false;
                };
                let midnight = day.and_time(NaiveTime::MIN);
                let opens = midnight + Duration::minutes(open.into());
                let closes = midnight + Duration::minutes(close.into());
                start >= opens && end <= closes
            })
    }

    /// "Mon–Sun 12:00–23:00" style summary for lists.
    pub fn summary(&self) -> String {
        const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        let mut parts: Vec<String> = Vec::new();
        let mut i = 0;
        while i < 7 {
            let w = self.0[i];
            let mut j = i;
            while j + 1 < 7 && self.0[j + 1] == w {
                j += 1;
            }
            if let Some((o, c)) = w {
                let days = if i == j {
                    DAYS[i].to_string()
                } else {
                    format!("{}–{}", DAYS[i], DAYS[j])
                };
                parts.push(format!("{days} {}–{}", hhmm(o), hhmm(c)));
            }
            i = j + 1;
        }
        if parts.is_empty() {
            "Closed".into()
        } else {
            parts.join(", ")
        }
    }
}

fn hhmm(m: u16) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("test time")
    }

    #[test]
    fn inside_and_outside_a_daily_window() {
        let h = OpeningHours::every_day(12 * 60, 23 * 60);
        assert!(h.allows(at("2026-11-23 19:00"), at("2026-11-23 21:00")));
        assert!(h.allows(at("2026-11-23 12:00"), at("2026-11-23 23:00")));
        assert!(!h.allows(at("2026-11-23 11:30"), at("2026-11-23 13:00")));
        assert!(!h.allows(at("2026-11-23 22:00"), at("2026-11-23 23:30")));
        assert!(!h.allows(at("2026-11-23 20:00"), at("2026-11-23 19:00")));
    }

    #[test]
    fn closed_days_and_windows_past_midnight() {
        let mut h = OpeningHours::every_day(18 * 60, 26 * 60);
        h.0[0] = None; // closed Mondays (2026-11-23 is a Monday)
        assert!(!h.allows(at("2026-11-23 19:00"), at("2026-11-23 20:00")));
        // Sunday night's window runs into Monday 02:00.
        assert!(h.allows(at("2026-11-23 00:30"), at("2026-11-23 01:30")));
        assert!(h.allows(at("2026-11-24 23:00"), at("2026-11-25 01:00")));
        assert_eq!(h.summary(), "Tue–Sun 18:00–26:00");
    }
}
