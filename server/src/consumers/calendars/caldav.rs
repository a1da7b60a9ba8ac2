//! The CalDAV calls Hitch makes (RFC 4791 over WebDAV, RFC 4918; sync by RFC 6578):
//! discovery (`current-user-principal` -> `calendar-home-set` -> the calendars in it),
//! events written with `PUT` (`If-None-Match: *` to create, `If-Match` to change) and
//! removed with `DELETE` + `If-Match`, changes read with `REPORT sync-collection`, and
//! busy time with `REPORT calendar-query` expanded over a window. iCloud, Fastmail,
//! Nextcloud and Radicale speak it, with an account password or an app password.
//!
//! Errors come back as the same [`ApiError`] the Google calls use, so the sync engine
//! treats both alike. Requests go through the outbound policy's client: a CalDAV
//! address is typed by a user, so it may not reach Hitch's own network.
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use icalendar::{Component, DatePerhapsTime};
use reqwest::{Method, StatusCode, header};
use url::Url;

use super::google::{ApiError, Event};
use crate::platform::ical;
use crate::platform::outbound::redact_urls;

const DAV: &str = "DAV:";
const CALDAV: &str = "urn:ietf:params:xml:ns:caldav";
/// Discovery redirects followed (`/.well-known/caldav` and the like).
const MAX_REDIRECTS: usize = 3;

/// One CalDAV account: where it is and how to sign in.
#[derive(Clone)]
pub struct CalDav {
    http: reqwest::Client,
    base: Url,
    user: String,
    password: String,
}

/// A calendar collection found by discovery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DavCalendar {
    /// Absolute path of the collection, ending in `/`.
    pub href: String,
    pub name: String,
}

/// What changed in a collection since a sync token.
#[derive(Clone, Debug, Default)]
pub struct Changes {
    /// Events added or changed; `id` is the event's path.
    pub changed: Vec<Event>,
    /// Paths of events deleted.
    pub removed: Vec<String>,
    /// Where to start next time.
    pub sync_token: String,
}

/// The event Hitch writes for a booking.
pub struct Outgoing<'a> {
    pub booking_id: &'a str,
    pub sequence: i64,
    pub summary: &'a str,
    pub description: &'a str,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub tentative: bool,
}

impl Outgoing<'_> {
    /// The event as an iCalendar object, with the booking's UID.
    pub fn to_ics(&self) -> String {
        let uid = ical::uid(self.booking_id);
        let mut w = ical::Writer::with_capacity(1024);
        w.calendar("Hitch", None).event(&ical::Entry {
            uid: &uid,
            sequence: self.sequence,
            stamp: Utc::now(),
            created: None,
            starts: self.start,
            ends: self.end,
            summary: self.summary,
            description: Some(self.description),
            location: None,
            url: None,
            status: if self.tentative {
                ical::Status::Tentative
            } else {
                ical::Status::Confirmed
            },
            private: false,
        });
        w.end("VCALENDAR");
        w.finish()
    }
}

/// Where a booking's event lives in a calendar collection.
pub fn event_path(calendar_href: &str, booking_id: &str) -> String {
    format!(
        "{}/{}.ics",
        calendar_href.trim_end_matches('/'),
        super::google::event_id(booking_id)
    )
}

impl CalDav {
    pub fn new(http: reqwest::Client, base: Url, user: &str, password: &str) -> CalDav {
        CalDav {
            http,
            base,
            user: user.into(),
            password: password.into(),
        }
    }

    fn url(&self, path: &str) -> Result<Url, ApiError> {
        self.base.join(path).map_err(|_| {
            ApiError::Refused(400, "the server named an address Hitch cannot read".into())
        })
    }

    fn request(&self, method: &str, url: Url) -> reqwest::RequestBuilder {
        let method = Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET);
        self.http
            .request(method, url)
            .basic_auth(&self.user, Some(&self.password))
    }

    /// A PROPFIND or REPORT: the multistatus text, following a few redirects (the
    /// outbound policy checks each address when it connects).
    async fn dav(
        &self,
        method: &str,
        path: &str,
        depth: &str,
        body: String,
    ) -> Result<String, ApiError> {
        let mut url = self.url(path)?;
        for _ in 0..=MAX_REDIRECTS {
            let res = self
                .request(method, url.clone())
                .header("Depth", depth)
                .header(header::CONTENT_TYPE, "application/xml; charset=utf-8")
                .body(body.clone())
                .send()
                .await
                .map_err(unavailable)?;
            let status = res.status();
            if status.is_redirection() {
                let next = res
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| url.join(l).ok())
                    .ok_or_else(|| classify(status, None))?;
                url = next;
                continue;
            }
            if status.as_u16() != 207 && !status.is_success() {
                return Err(classify(status, retry_after(res.headers())));
            }
            return res.text().await.map_err(unavailable);
        }
        Err(ApiError::Refused(310, "too many redirects".into()))
    }

    /// The calendars of the account that hold events.
    pub async fn calendars(&self) -> Result<Vec<DavCalendar>, ApiError> {
        let start = self.base.path().to_string();
        let principal = self
            .dav("PROPFIND", &start, "0", PROPFIND_PRINCIPAL.into())
            .await
            .and_then(|x| first_href(&x, "current-user-principal"))?
            .unwrap_or(start);
        let home = self
            .dav("PROPFIND", &principal, "0", PROPFIND_HOME.into())
            .await
            .and_then(|x| first_href(&x, "calendar-home-set"))?
            .unwrap_or(principal);
        let listing = self
            .dav("PROPFIND", &home, "1", PROPFIND_CALENDARS.into())
            .await?;
        calendars_in(&listing)
    }

    /// Writes a booking's event: created when `etag` is `None` (412 if it exists:
    /// [`ApiError::Duplicate`]), replaced only if unchanged since `etag` otherwise (412:
    /// [`ApiError::Changed`]). Returns the new etag when the server tells it.
    pub async fn put(
        &self,
        path: &str,
        ics: &str,
        etag: Option<&str>,
    ) -> Result<Option<String>, ApiError> {
        let condition = match etag {
            Some(e) => (header::IF_MATCH, e),
            None => (header::IF_NONE_MATCH, "*"),
        };
        match self.send_put(path, ics, Some(condition)).await {
            Err(ApiError::Changed) if etag.is_none() => Err(ApiError::Duplicate),
            other => other,
        }
    }

    /// Overwrites whatever is at `path` (after a decision that Hitch wins).
    pub async fn overwrite(&self, path: &str, ics: &str) -> Result<Option<String>, ApiError> {
        self.send_put(path, ics, None).await
    }

    async fn send_put(
        &self,
        path: &str,
        ics: &str,
        condition: Option<(header::HeaderName, &str)>,
    ) -> Result<Option<String>, ApiError> {
        let mut req = self
            .request("PUT", self.url(path)?)
            .header(header::CONTENT_TYPE, "text/calendar; charset=utf-8")
            .body(ics.to_string());
        if let Some((name, value)) = condition {
            req = req.header(name, value);
        }
        let res = req.send().await.map_err(unavailable)?;
        if res.status().is_success() {
            return Ok(etag_of(res.headers()));
        }
        Err(classify(res.status(), retry_after(res.headers())))
    }

    /// Deletes an event, only if unchanged since `etag` when one is given.
    pub async fn delete(&self, path: &str, etag: Option<&str>) -> Result<(), ApiError> {
        let mut req = self.request("DELETE", self.url(path)?);
        if let Some(e) = etag {
            req = req.header(header::IF_MATCH, e);
        }
        let res = req.send().await.map_err(unavailable)?;
        match res.status() {
            s if s.is_success() => Ok(()),
            StatusCode::NOT_FOUND => Ok(()),
            s => Err(classify(s, retry_after(res.headers()))),
        }
    }

    /// One event as it is now.
    pub async fn get(&self, path: &str, tz: Tz) -> Result<Event, ApiError> {
        let res = self
            .request("GET", self.url(path)?)
            .send()
            .await
            .map_err(unavailable)?;
        if !res.status().is_success() {
            return Err(classify(res.status(), retry_after(res.headers())));
        }
        let etag = etag_of(res.headers());
        let text = res.text().await.map_err(unavailable)?;
        events_in(path, etag, &text, tz)
            .into_iter()
            .next()
            .ok_or(ApiError::NotFound)
    }

    /// What changed in a collection since `token` (everything when `None`). An
    /// expired token answers [`ApiError::Gone`]: read everything again.
    pub async fn changes(
        &self,
        calendar: &str,
        token: Option<&str>,
        tz: Tz,
    ) -> Result<Changes, ApiError> {
        let body = SYNC_COLLECTION.replace("{token}", &xml_escape(token.unwrap_or("")));
        let text = match self.dav("REPORT", calendar, "1", body).await {
            // RFC 6578: an invalid token is 403 or 409 with `valid-sync-token`.
            Err(ApiError::Refused(403 | 409, _)) if token.is_some() => return Err(ApiError::Gone),
            other => other?,
        };
        parse_changes(&text, tz)
    }

    /// Busy time: the events between `from` and `to`, recurrences expanded by the
    /// server (RFC 4791 `expand`), so a weekly meeting blocks every week.
    pub async fn between(
        &self,
        calendar: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        tz: Tz,
    ) -> Result<Vec<Event>, ApiError> {
        let fmt = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
        let body = CALENDAR_QUERY
            .replace("{from}", &fmt(from))
            .replace("{to}", &fmt(to));
        let text = self.dav("REPORT", calendar, "1", body).await?;
        Ok(parse_changes(&text, tz)?.changed)
    }
}

const PROPFIND_PRINCIPAL: &str = r#"<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:"><d:prop><d:current-user-principal/></d:prop></d:propfind>"#;
const PROPFIND_HOME: &str = r#"<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><c:calendar-home-set/></d:prop></d:propfind>"#;
const PROPFIND_CALENDARS: &str = r#"<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:resourcetype/><d:displayname/><c:supported-calendar-component-set/></d:prop></d:propfind>"#;
const SYNC_COLLECTION: &str = r#"<?xml version="1.0" encoding="utf-8"?><d:sync-collection xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:sync-token>{token}</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/><c:calendar-data/></d:prop></d:sync-collection>"#;
const CALENDAR_QUERY: &str = r#"<?xml version="1.0" encoding="utf-8"?><c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/><c:calendar-data><c:expand start="{from}" end="{to}"/></c:calendar-data></d:prop><c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"><c:time-range start="{from}" end="{to}"/></c:comp-filter></c:comp-filter></c:filter></c:calendar-query>"#;

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn unavailable(e: reqwest::Error) -> ApiError {
    ApiError::Unavailable(redact_urls(&e.to_string()))
}

fn retry_after(h: &header::HeaderMap) -> Option<Duration> {
    h.get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(|s| Duration::from_secs(s.min(3600)))
}

fn etag_of(h: &header::HeaderMap) -> Option<String> {
    h.get(header::ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// A CalDAV server's answer as the sync engine acts on it.
pub fn classify(status: StatusCode, retry_after: Option<Duration>) -> ApiError {
    match status.as_u16() {
        401 => ApiError::Unauthorized,
        404 => ApiError::NotFound,
        410 => ApiError::Gone,
        412 => ApiError::Changed,
        429 => ApiError::RateLimited(retry_after),
        503 if retry_after.is_some() => ApiError::RateLimited(retry_after),
        s if s >= 500 => ApiError::Unavailable(format!("the CalDAV server answered {s}")),
        s => ApiError::Refused(
            s,
            status.canonical_reason().unwrap_or("refused").to_string(),
        ),
    }
}

fn parse(xml: &str) -> Result<roxmltree::Document<'_>, ApiError> {
    roxmltree::Document::parse(xml)
        .map_err(|_| ApiError::Unavailable("the CalDAV server's answer is not XML".into()))
}

fn is(node: &roxmltree::Node, ns: &str, name: &str) -> bool {
    node.is_element() && node.tag_name().name() == name && node.tag_name().namespace() == Some(ns)
}

/// The first `<href>` inside the named property.
fn first_href(xml: &str, property: &str) -> Result<Option<String>, ApiError> {
    let doc = parse(xml)?;
    Ok(doc
        .descendants()
        .find(|n| n.is_element() && n.tag_name().name() == property)
        .and_then(|p| p.descendants().find(|n| is(n, DAV, "href")))
        .and_then(|h| h.text())
        .map(|t| t.trim().to_string()))
}

/// Calendar collections that hold events, from a Depth 1 PROPFIND.
fn calendars_in(xml: &str) -> Result<Vec<DavCalendar>, ApiError> {
    let doc = parse(xml)?;
    let mut out = Vec::new();
    for r in doc.descendants().filter(|n| is(n, DAV, "response")) {
        let calendar = r.descendants().any(|n| is(&n, CALDAV, "calendar"));
        let components: Vec<&str> = r
            .descendants()
            .filter(|n| is(n, CALDAV, "comp"))
            .filter_map(|n| n.attribute("name"))
            .collect();
        let events = components.is_empty() || components.contains(&"VEVENT");
        let Some(href) = r
            .children()
            .find(|n| is(n, DAV, "href"))
            .and_then(|h| h.text())
        else {
            continue;
        };
        if calendar && events {
            let name = r
                .descendants()
                .find(|n| is(n, DAV, "displayname"))
                .and_then(|n| n.text())
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| {
                    href.trim_end_matches('/')
                        .rsplit('/')
                        .next()
                        .unwrap_or(href)
                });
            out.push(DavCalendar {
                href: href.trim().to_string(),
                name: name.to_string(),
            });
        }
    }
    Ok(out)
}

/// The members of a sync-collection or calendar-query answer.
fn parse_changes(xml: &str, tz: Tz) -> Result<Changes, ApiError> {
    let doc = parse(xml)?;
    let mut out = Changes {
        sync_token: doc
            .root_element()
            .children()
            .find(|n| is(n, DAV, "sync-token"))
            .and_then(|n| n.text())
            .unwrap_or_default()
            .trim()
            .to_string(),
        ..Changes::default()
    };
    for r in doc.descendants().filter(|n| is(n, DAV, "response")) {
        let Some(href) = r
            .children()
            .find(|n| is(n, DAV, "href"))
            .and_then(|h| h.text())
            .map(|h| h.trim().to_string())
        else {
            continue;
        };
        // A member gone since the token: a status of 404 on the response itself.
        let gone = r
            .children()
            .find(|n| is(n, DAV, "status"))
            .and_then(|n| n.text())
            .is_some_and(|s| s.contains(" 404"));
        if gone {
            out.removed.push(href);
            continue;
        }
        let text = |name: &str, ns: &str| {
            r.descendants()
                .find(|n| is(n, ns, name))
                .and_then(|n| n.text())
                .map(str::to_string)
        };
        let Some(data) = text("calendar-data", CALDAV) else {
            continue;
        };
        out.changed
            .extend(events_in(&href, text("getetag", DAV), &data, tz));
    }
    Ok(out)
}

/// The VEVENTs of one calendar object (an expanded recurrence gives several).
/// Floating times are read in the organization's zone.
pub fn events_in(path: &str, etag: Option<String>, ics: &str, tz: Tz) -> Vec<Event> {
    let Ok(cal) = ics.parse::<icalendar::Calendar>() else {
        return Vec::new();
    };
    let when = |d: Option<DatePerhapsTime>| -> (Option<DateTime<Utc>>, Option<NaiveDate>) {
        match d {
            Some(DatePerhapsTime::DateTime(icalendar::CalendarDateTime::Floating(n))) => (
                tz.from_local_datetime(&n)
                    .earliest()
                    .map(|t| t.with_timezone(&Utc)),
                None,
            ),
            Some(DatePerhapsTime::DateTime(dt)) => (dt.try_into_utc(), None),
            Some(DatePerhapsTime::Date(d)) => (None, Some(d)),
            None => (None, None),
        }
    };
    cal.components
        .iter()
        .filter_map(|c| c.as_event())
        .map(|e| {
            let (start, start_day) = when(e.get_start());
            let (end, end_day) = when(e.get_end());
            let status = match e.property_value("STATUS") {
                Some("CANCELLED") => "cancelled",
                Some("TENTATIVE") => "tentative",
                _ => "confirmed",
            };
            Event {
                id: path.to_string(),
                etag: etag.clone(),
                status: status.into(),
                start,
                end: end.or(start),
                days: start_day.map(|s| (s, end_day.unwrap_or(s + chrono::Duration::days(1)))),
                transparent: e.property_value("TRANSP") == Some("TRANSPARENT"),
                booking_id: e
                    .get_uid()
                    .and_then(|u| u.strip_suffix("@hitch"))
                    .map(str::to_string),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sync_answer_gives_changes_removals_and_the_next_token() {
        let xml = r#"<?xml version="1.0"?>
<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:response><d:href>/staff/bookings/a.ics</d:href>
    <d:propstat><d:prop><d:getetag>"e1"</d:getetag><c:calendar-data>BEGIN:VCALENDAR
VERSION:2.0
BEGIN:VEVENT
UID:bk_1@hitch
DTSTART;TZID=Europe/London:20261224T190000
DTEND;TZID=Europe/London:20261224T210000
STATUS:CONFIRMED
END:VEVENT
END:VCALENDAR
</c:calendar-data></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
  <d:response><d:href>/staff/bookings/b.ics</d:href><d:status>HTTP/1.1 404 Not Found</d:status></d:response>
  <d:sync-token>http://radicale.org/ns/sync/abc</d:sync-token>
</d:multistatus>"#;
        let c = parse_changes(xml, Tz::UTC).expect("parsed");
        assert_eq!(c.sync_token, "http://radicale.org/ns/sync/abc");
        assert_eq!(c.removed, ["/staff/bookings/b.ics"]);
        let e = &c.changed[0];
        assert_eq!(e.id, "/staff/bookings/a.ics");
        assert_eq!(e.etag.as_deref(), Some("\"e1\""));
        assert_eq!(e.booking_id.as_deref(), Some("bk_1"));
        assert_eq!(
            e.start.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-12-24T19:00:00+00:00")
        );
    }

    #[test]
    fn discovery_keeps_calendars_of_events_only() {
        let xml = r#"<multistatus xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
<response><href>/staff/</href><propstat><prop><resourcetype><collection/></resourcetype></prop></propstat></response>
<response><href>/staff/work/</href><propstat><prop><resourcetype><collection/><C:calendar/></resourcetype><displayname>Work</displayname><C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set></prop></propstat></response>
<response><href>/staff/tasks/</href><propstat><prop><resourcetype><collection/><C:calendar/></resourcetype><C:supported-calendar-component-set><C:comp name="VTODO"/></C:supported-calendar-component-set></prop></propstat></response>
</multistatus>"#;
        assert_eq!(
            calendars_in(xml).expect("parsed"),
            [DavCalendar {
                href: "/staff/work/".into(),
                name: "Work".into()
            }]
        );
    }

    #[test]
    fn an_all_day_event_and_a_floating_one() {
        let ics = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART;VALUE=DATE:20261224\r\nDTEND;VALUE=DATE:20261225\r\nTRANSP:TRANSPARENT\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:y\r\nDTSTART:20261224T100000\r\nDTEND:20261224T110000\r\nSTATUS:CANCELLED\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let tz: Tz = "Europe/Berlin".parse().expect("zone");
        let e = events_in("/c/x.ics", None, ics, tz);
        assert_eq!(e.len(), 2);
        assert!(e[0].transparent && e[0].start.is_none());
        assert_eq!(
            e[0].days.map(|d| d.0.to_string()).as_deref(),
            Some("2026-12-24")
        );
        assert!(e[1].cancelled());
        assert_eq!(
            e[1].start.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-12-24T09:00:00+00:00"),
            "floating time read in the organization's zone"
        );
        assert_eq!(e[1].booking_id, None);
    }
}
