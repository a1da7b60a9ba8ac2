//! RFC 5545 output: content lines, TEXT escaping and folding, and one VEVENT per booking.
//!
//! Written here rather than with the `icalendar` crate (0.16): its TEXT escaping leaves a
//! carriage return as it is, so a note holding `\r` starts a new line in some parsers,
//! and it keeps control characters the grammar forbids; its folding looks characters up
//! by position on every fold, which is quadratic on a long note; and its builder makes a
//! map per property, which is the whole cost of a feed of ten thousand bookings.
use chrono::{DateTime, Datelike, Timelike, Utc};

/// Octets per line before the line break (RFC 5545, 3.1).
const LINE: usize = 75;

/// An iCalendar object under construction. Every line ends in CRLF; long lines are
/// folded at 75 octets, never inside a UTF-8 character.
#[derive(Default)]
pub struct Writer {
    out: String,
    line: String,
}

impl Writer {
    pub fn with_capacity(bytes: usize) -> Self {
        Self {
            out: String::with_capacity(bytes),
            line: String::with_capacity(256),
        }
    }

    pub fn begin(&mut self, component: &str) -> &mut Self {
        self.raw("BEGIN", component)
    }

    pub fn end(&mut self, component: &str) -> &mut Self {
        self.raw("END", component)
    }

    /// A property whose value is written as given (dates, numbers, enumerations, URIs
    /// already free of control characters).
    pub fn raw(&mut self, name: &str, value: &str) -> &mut Self {
        self.line.clear();
        self.line.push_str(name);
        self.line.push(':');
        self.line.push_str(value);
        self.flush_line();
        self
    }

    /// A TEXT property: backslash, `;`, `,` and line breaks escaped, other control
    /// characters dropped, so whatever the value holds it stays one property.
    pub fn text(&mut self, name: &str, value: &str) -> &mut Self {
        self.line.clear();
        self.line.push_str(name);
        self.line.push(':');
        escape_text_into(&mut self.line, value);
        self.flush_line();
        self
    }

    /// A DATE-TIME in UTC (`20261205T190000Z`).
    pub fn utc(&mut self, name: &str, at: DateTime<Utc>) -> &mut Self {
        self.line.clear();
        self.line.push_str(name);
        self.line.push(':');
        push_utc(&mut self.line, at);
        self.flush_line();
        self
    }

    pub fn finish(self) -> String {
        self.out
    }

    fn flush_line(&mut self) {
        fold_into(&mut self.out, &self.line);
    }
}

/// `20261205T190000Z`, written digit by digit: chrono's formatter was a fifth of a
/// large feed's time.
fn push_utc(out: &mut String, at: DateTime<Utc>) {
    fn two(out: &mut String, n: u32) {
        out.push(char::from(b'0' + (n / 10 % 10) as u8));
        out.push(char::from(b'0' + (n % 10) as u8));
    }
    let year = at.year().clamp(0, 9999) as u32;
    two(out, year / 100);
    two(out, year % 100);
    two(out, at.month());
    two(out, at.day());
    out.push('T');
    two(out, at.hour());
    two(out, at.minute());
    two(out, at.second());
    out.push('Z');
}

/// RFC 5545 3.3.11 TEXT escaping. A CRLF pair is one line break; a lone CR or LF is
/// one too. Control characters other than tab are not allowed in TEXT and are dropped.
pub fn escape_text_into(out: &mut String, value: &str) {
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            '\t' => out.push('\t'),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
}

/// Appends `line` folded: at most 75 octets per physical line (a continuation line's
/// leading space counts), split only on character boundaries, each ending in CRLF.
pub fn fold_into(out: &mut String, line: &str) {
    let mut rest = line;
    let mut limit = LINE;
    while rest.len() > limit {
        let mut cut = limit;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push_str(&rest[..cut]);
        out.push_str("\r\n ");
        rest = &rest[cut..];
        limit = LINE - 1;
    }
    out.push_str(rest);
    out.push_str("\r\n");
}

/// A booking as a calendar entry.
pub struct Entry<'a> {
    /// Stable across feeds, the portal download and emailed invitations.
    pub uid: &'a str,
    pub sequence: i64,
    /// When the entry last changed (DTSTAMP and LAST-MODIFIED in a published feed).
    pub stamp: DateTime<Utc>,
    pub created: Option<DateTime<Utc>>,
    pub starts: DateTime<Utc>,
    pub ends: DateTime<Utc>,
    pub summary: &'a str,
    pub description: Option<&'a str>,
    pub location: Option<&'a str>,
    pub url: Option<&'a str>,
    pub status: Status,
    /// Free/busy only: the calendar app shows "busy" and nothing else.
    pub private: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Status {
    Confirmed,
    Tentative,
    Cancelled,
}

impl Status {
    /// From a booking's status.
    pub fn of_booking(status: &str) -> Self {
        match status {
            "cancelled" => Status::Cancelled,
            "pending" => Status::Tentative,
            _ => Status::Confirmed,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Status::Confirmed => "CONFIRMED",
            Status::Tentative => "TENTATIVE",
            Status::Cancelled => "CANCELLED",
        }
    }
}

/// The booking's UID, the same wherever the booking is published.
pub fn uid(booking_id: &str) -> String {
    format!("{booking_id}@hitch")
}

impl Writer {
    /// Opens a VCALENDAR. `method` is `PUBLISH` for feeds, `REQUEST`/`CANCEL` for
    /// invitations.
    pub fn calendar(&mut self, name: &str, method: Option<&str>) -> &mut Self {
        self.begin("VCALENDAR")
            .raw("VERSION", "2.0")
            .raw("PRODID", "-//Hitch//Hitch bookings//EN")
            .raw("CALSCALE", "GREGORIAN");
        if let Some(m) = method {
            self.raw("METHOD", m);
        }
        self.text("NAME", name).text("X-WR-CALNAME", name)
    }

    pub fn event(&mut self, e: &Entry<'_>) -> &mut Self {
        self.begin("VEVENT")
            .text("UID", e.uid)
            .raw("SEQUENCE", itoa::Buffer::new().format(e.sequence.max(0)))
            .utc("DTSTAMP", e.stamp);
        if let Some(c) = e.created {
            self.utc("CREATED", c);
        }
        self.utc("LAST-MODIFIED", e.stamp)
            .utc("DTSTART", e.starts)
            .utc("DTEND", e.ends)
            .text("SUMMARY", e.summary);
        if let Some(d) = e.description {
            self.text("DESCRIPTION", d);
        }
        if let Some(l) = e.location {
            self.text("LOCATION", l);
        }
        if let Some(u) = e.url {
            self.raw("URL", u);
        }
        if e.private {
            self.raw("CLASS", "PRIVATE");
        }
        self.raw("TRANSP", "OPAQUE")
            .raw("STATUS", e.status.as_str())
            .end("VEVENT")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &str) -> Vec<&str> {
        s.split("\r\n").collect()
    }

    #[test]
    fn every_physical_line_fits_in_75_octets_and_unfolds_to_the_original() {
        for text in [
            "a".repeat(300),
            "é".repeat(200),
            "x".repeat(73) + "€€€" + &"y".repeat(80),
            "日本語のメモ".repeat(40),
            "🎉".repeat(60),
        ] {
            let mut out = String::new();
            fold_into(&mut out, &format!("DESCRIPTION:{text}"));
            assert!(out.ends_with("\r\n"));
            for l in lines(&out) {
                assert!(l.len() <= 75, "{} octets: {l:?}", l.len());
            }
            let unfolded = out.trim_end_matches("\r\n").replace("\r\n ", "");
            assert_eq!(unfolded, format!("DESCRIPTION:{text}"));
        }
    }

    #[test]
    fn a_multibyte_character_at_the_75th_octet_moves_whole_to_the_next_line() {
        // "DESCRIPTION:" is 12 octets; 62 more ASCII put "é" (2 octets) across 75.
        let mut out = String::new();
        fold_into(&mut out, &format!("DESCRIPTION:{}é tail", "a".repeat(62)));
        let first = lines(&out)[0];
        assert_eq!(first.len(), 74);
        assert!(lines(&out)[1].starts_with(" é"));
    }

    #[test]
    fn text_values_cannot_start_a_new_property() {
        let mut w = Writer::default();
        w.text(
            "DESCRIPTION",
            "a;b,c\\d\r\nEND:VEVENT\rBEGIN:VEVENT\nx\u{0}\u{7}\ty",
        );
        let out = w.finish();
        assert_eq!(
            out,
            "DESCRIPTION:a\\;b\\,c\\\\d\\nEND:VEVENT\\nBEGIN:VEVENT\\nx\ty\r\n"
        );
        assert_eq!(out.matches("\r\n").count(), 1);
        assert!(!out.trim_end().contains('\r') && !out.trim_end().contains('\n'));
    }

    #[test]
    fn utc_times_read_as_chrono_would_write_them() {
        for at in [
            "2026-12-05T19:00:00Z",
            "0999-01-02T03:04:05Z",
            "2030-10-27T23:59:59.999Z",
        ] {
            let at = DateTime::parse_from_rfc3339(at)
                .unwrap()
                .with_timezone(&Utc);
            let mut out = String::new();
            push_utc(&mut out, at);
            assert_eq!(out, at.format("%Y%m%dT%H%M%SZ").to_string());
        }
    }

    #[test]
    fn an_event_has_the_properties_calendars_need() {
        let t = |h| DateTime::parse_from_rfc3339(h).unwrap().with_timezone(&Utc);
        let mut w = Writer::default();
        w.calendar("Hitch", Some("PUBLISH")).event(&Entry {
            uid: &uid("bk_1"),
            sequence: 3,
            stamp: t("2026-12-01T10:00:00Z"),
            created: Some(t("2026-11-30T10:00:00Z")),
            starts: t("2026-12-05T19:00:00Z"),
            ends: t("2026-12-05T21:00:00Z"),
            summary: "Ana · 4 guests",
            description: None,
            location: Some("Table 5"),
            url: None,
            status: Status::Tentative,
            private: false,
        });
        w.end("VCALENDAR");
        let out = w.finish();
        for want in [
            "UID:bk_1@hitch\r\n",
            "SEQUENCE:3\r\n",
            "DTSTAMP:20261201T100000Z\r\n",
            "DTSTART:20261205T190000Z\r\n",
            "DTEND:20261205T210000Z\r\n",
            "STATUS:TENTATIVE\r\n",
            "METHOD:PUBLISH\r\n",
        ] {
            assert!(out.contains(want), "{want:?} missing in {out}");
        }
        assert!(out.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
        assert!(out.ends_with("END:VEVENT\r\nEND:VCALENDAR\r\n"));
    }

    mod properties {
        use super::*;
        use chrono::TimeZone;
        use proptest::prelude::*;

        /// RFC 5545 unescaping of a TEXT value, as a reader does it.
        fn unescape(v: &str) -> String {
            let mut out = String::new();
            let mut chars = v.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    match chars.next() {
                        Some('n' | 'N') => out.push('\n'),
                        Some(other) => out.push(other),
                        None => {}
                    }
                } else {
                    out.push(c);
                }
            }
            out
        }

        /// What a note becomes in a calendar app: line breaks of any kind are one
        /// newline, control characters other than tab are gone.
        fn as_read(v: &str) -> String {
            v.replace("\r\n", "\n")
                .replace('\r', "\n")
                .chars()
                .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
                .collect()
        }

        proptest! {
            /// Whatever staff type into a booking, the event is well-formed: CRLF line
            /// ends only, no physical line over 75 octets, the same properties in the
            /// same order, and each text reads back as typed.
            #[test]
            fn prop_any_text_stays_inside_its_own_property(
                summary in "\\PC{0,120}|[\\r\\n;,:\\\\a-zé€🎉]{0,200}",
                description in any::<String>(),
                location in "[\\x00-\\x7f]{0,80}|\\PC{0,40}",
                starts in 0i64..4_000_000_000,
            ) {
                let at = Utc.timestamp_opt(starts, 0).single().unwrap_or_default();
                let mut w = Writer::default();
                w.calendar("Hitch", Some("PUBLISH")).event(&Entry {
                    uid: "bk_1@hitch",
                    sequence: 3,
                    stamp: at,
                    created: None,
                    starts: at,
                    ends: at + chrono::Duration::hours(2),
                    summary: &summary,
                    description: Some(&description),
                    location: Some(&location),
                    url: None,
                    status: Status::Confirmed,
                    private: false,
                });
                w.end("VCALENDAR");
                let out = w.finish();
                prop_assert!(out.ends_with("\r\n"));
                let body = &out[..out.len() - 2];
                for line in body.split("\r\n") {
                    prop_assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
                    prop_assert!(!line.contains(['\r', '\n']), "a bare line break: {line:?}");
                }
                // Folding is the only source of CRLF + space: values hold no line breaks.
                let unfolded = body.replace("\r\n ", "");
                let logical: Vec<&str> = unfolded.split("\r\n").collect();
                let names: Vec<&str> =
                    logical.iter().map(|l| l.split(':').next().unwrap_or("")).collect();
                prop_assert_eq!(names, [
                    "BEGIN", "VERSION", "PRODID", "CALSCALE", "METHOD", "NAME", "X-WR-CALNAME",
                    "BEGIN", "UID", "SEQUENCE", "DTSTAMP", "LAST-MODIFIED", "DTSTART", "DTEND",
                    "SUMMARY", "DESCRIPTION", "LOCATION", "TRANSP", "STATUS", "END", "END",
                ]);
                let value = |name: &str| {
                    logical.iter().find_map(|l| l.strip_prefix(name)).map(unescape)
                };
                prop_assert_eq!(value("SUMMARY:"), Some(as_read(&summary)));
                prop_assert_eq!(value("DESCRIPTION:"), Some(as_read(&description)));
                prop_assert_eq!(value("LOCATION:"), Some(as_read(&location)));
            }
        }
    }
}
