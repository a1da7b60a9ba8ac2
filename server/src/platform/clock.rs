//! One clock and one way to show a time in an organization's zone.
use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// Milliseconds since the Unix epoch: jobs, deliveries and live refresh all count in it.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// A stored time zone name; UTC should a stored name ever fail to parse.
pub fn tz_named(name: &str) -> Tz {
    name.parse().unwrap_or(Tz::UTC)
}

/// How a local time reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// "2026-11-22 19:05": lists and the audit log.
    Stamp,
    /// "2026-11-22 19:05:09": the delivery log, where attempts seconds apart must differ.
    StampSeconds,
    /// "Sun 22 Nov 2026, 19:05": a sentence a person reads.
    Friendly,
    /// "Sun 22 Nov, 19:05": a choice within the coming weeks.
    Short,
}

/// `at` in zone `tz`, in the given style.
pub fn local(at: DateTime<Utc>, tz: Tz, style: Style) -> String {
    let format = match style {
        Style::Stamp => "%Y-%m-%d %H:%M",
        Style::StampSeconds => "%Y-%m-%d %H:%M:%S",
        Style::Friendly => "%a %-d %b %Y, %H:%M",
        Style::Short => "%a %-d %b, %H:%M",
    };
    at.with_timezone(&tz).format(format).to_string()
}

/// [`local`] for epoch milliseconds (empty for a time out of range).
pub fn local_ms(ms: i64, tz: Tz, style: Style) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|at| local(at, tz, style))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_in_the_organizations_zone() {
        let paris = tz_named("Europe/Paris");
        let at = Utc
            .with_ymd_and_hms(2026, 11, 22, 18, 5, 9)
            .single()
            .expect("time");
        assert_eq!(local(at, paris, Style::Stamp), "2026-11-22 19:05");
        let ms = at.timestamp_millis();
        assert_eq!(
            local_ms(ms, paris, Style::StampSeconds),
            "2026-11-22 19:05:09"
        );
        assert_eq!(
            local_ms(ms, paris, Style::Friendly),
            "Sun 22 Nov 2026, 19:05"
        );
        assert_eq!(local_ms(ms, paris, Style::Short), "Sun 22 Nov, 19:05");
        assert_eq!(
            local(at, tz_named("nowhere"), Style::Stamp),
            "2026-11-22 18:05"
        );
    }
}
