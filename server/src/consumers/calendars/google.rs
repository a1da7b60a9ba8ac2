//! The Google Calendar v3 calls Hitch makes (calendarList, events insert / update /
//! get / delete / list, watch, channels.stop), with the errors the sync engine acts on
//! sorted out of Google's error object. The base URL is configurable
//! (`HITCH_GOOGLE_API_BASE`) so tests use a local fake.
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};

use crate::platform::hash::sha256_hex;
use crate::platform::outbound::redact_urls;

const TIMEOUT: Duration = Duration::from_secs(20);
/// Google's largest page is 2,500; 250 keeps each page's transaction short.
const PAGE_SIZE: &str = "250";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 401: the access token expired or was revoked.
    #[error("Google refused the access token")]
    Unauthorized,
    #[error("the event or calendar does not exist")]
    NotFound,
    /// 410 on a list: the sync token is too old; sync again from scratch.
    #[error("Google asks for a full sync")]
    Gone,
    /// 409: an event with this id exists already.
    #[error("the event exists already")]
    Duplicate,
    /// 412: the event changed since the etag we sent.
    #[error("the event changed in Google since Hitch last wrote it")]
    Changed,
    /// 403 rate limits and 429: slow down (for the time Google names, if it does).
    #[error("Google asks Hitch to slow down")]
    RateLimited(Option<Duration>),
    /// 5xx or no answer: try again later.
    #[error("Google is unavailable: {0}")]
    Unavailable(String),
    /// Any other refusal (permission, bad request).
    #[error("Google refused the request ({0}): {1}")]
    Refused(u16, String),
}

/// An event as the sync engine needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub id: String,
    pub etag: Option<String>,
    /// `confirmed`, `tentative` or `cancelled` (deleted).
    pub status: String,
    /// Timed events; all-day events carry `days` instead.
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub days: Option<(NaiveDate, NaiveDate)>,
    /// Marked "free": it takes no time.
    pub transparent: bool,
    /// The booking this event stands for, when Hitch wrote it.
    pub booking_id: Option<String>,
}

impl Event {
    pub fn from_json(v: &Value) -> Option<Event> {
        let time = |k: &str| {
            v[k]["dateTime"]
                .as_str()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.with_timezone(&Utc))
        };
        let day = |k: &str| {
            v[k]["date"]
                .as_str()
                .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        };
        Some(Event {
            id: v["id"].as_str()?.to_string(),
            etag: v["etag"].as_str().map(str::to_string),
            status: v["status"].as_str().unwrap_or("confirmed").to_string(),
            start: time("start"),
            end: time("end"),
            days: day("start").zip(day("end")),
            transparent: v["transparency"].as_str() == Some("transparent"),
            booking_id: v["extendedProperties"]["private"][BOOKING_PROPERTY]
                .as_str()
                .map(str::to_string),
        })
    }

    pub fn cancelled(&self) -> bool {
        self.status == "cancelled"
    }
}

/// The private extended property naming the booking an event stands for.
pub const BOOKING_PROPERTY: &str = "hitchBooking";

/// The event id Hitch uses for a booking: base32hex (hex is a subset), stable, so an
/// insert retried by any process finds the first one (409) instead of a twin.
pub fn event_id(booking_id: &str) -> String {
    format!("hitch{}", &sha256_hex(booking_id)[..40])
}

/// What Hitch writes for a booking.
pub struct EventBody<'a> {
    pub id: &'a str,
    pub booking_id: &'a str,
    pub summary: &'a str,
    pub description: &'a str,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub tentative: bool,
}

impl EventBody<'_> {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "summary": self.summary,
            "description": self.description,
            "start": { "dateTime": self.start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true) },
            "end": { "dateTime": self.end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true) },
            "status": if self.tentative { "tentative" } else { "confirmed" },
            "transparency": "opaque",
            "extendedProperties": { "private": { BOOKING_PROPERTY: self.booking_id } },
        })
    }
}

/// A calendar of the account.
#[derive(Clone, Debug)]
pub struct CalendarEntry {
    pub id: String,
    pub summary: String,
    pub primary: bool,
    /// `owner` and `writer` may receive bookings.
    pub writable: bool,
}

/// One page of `events.list`.
#[derive(Debug, Default)]
pub struct EventPage {
    pub items: Vec<Event>,
    pub next_page_token: Option<String>,
    pub next_sync_token: Option<String>,
}

/// A push channel as Google confirmed it.
#[derive(Debug)]
pub struct Channel {
    pub resource_id: String,
    pub expires_at: Option<i64>,
}

#[derive(Clone)]
pub struct GoogleApi {
    http: reqwest::Client,
    base: String,
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl GoogleApi {
    pub fn new(base: &str) -> GoogleApi {
        GoogleApi {
            http: http_client(),
            base: base.trim_end_matches('/').to_string(),
        }
    }

    fn request(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token)
    }

    pub async fn calendars(&self, token: &str) -> Result<Vec<CalendarEntry>, ApiError> {
        let v = send(self.request(Method::GET, "/users/me/calendarList", token)).await?;
        Ok(v["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .take(100)
                    .filter_map(|c| {
                        Some(CalendarEntry {
                            id: c["id"].as_str()?.to_string(),
                            summary: c["summaryOverride"]
                                .as_str()
                                .or(c["summary"].as_str())
                                .unwrap_or("(untitled)")
                                .chars()
                                .take(200)
                                .collect(),
                            primary: c["primary"].as_bool() == Some(true),
                            writable: matches!(c["accessRole"].as_str(), Some("owner" | "writer")),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    pub async fn insert(&self, token: &str, cal: &str, body: &Value) -> Result<Event, ApiError> {
        let path = format!("/calendars/{}/events", enc(cal));
        event(send(self.request(Method::POST, &path, token).json(body)).await?)
    }

    /// Replaces the event; with `if_match` only if it is still that version.
    pub async fn update(
        &self,
        token: &str,
        cal: &str,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<Event, ApiError> {
        let path = format!("/calendars/{}/events/{}", enc(cal), enc(id));
        let mut req = self.request(Method::PUT, &path, token).json(body);
        if let Some(etag) = if_match {
            req = req.header("If-Match", etag);
        }
        event(send(req).await?)
    }

    pub async fn get(&self, token: &str, cal: &str, id: &str) -> Result<Event, ApiError> {
        let path = format!("/calendars/{}/events/{}", enc(cal), enc(id));
        event(send(self.request(Method::GET, &path, token)).await?)
    }

    /// Deletes the event; gone already counts as done.
    pub async fn delete(
        &self,
        token: &str,
        cal: &str,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<(), ApiError> {
        let path = format!("/calendars/{}/events/{}", enc(cal), enc(id));
        let mut req = self.request(Method::DELETE, &path, token);
        if let Some(etag) = if_match {
            req = req.header("If-Match", etag);
        }
        match send(req).await {
            Ok(_) | Err(ApiError::NotFound | ApiError::Gone) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// A page of events: everything (full sync) without `sync_token`, else what changed
    /// since it, deleted events included as `cancelled`.
    pub async fn list(
        &self,
        token: &str,
        cal: &str,
        sync_token: Option<&str>,
        page_token: Option<&str>,
    ) -> Result<EventPage, ApiError> {
        let path = format!("/calendars/{}/events", enc(cal));
        let mut query = vec![("maxResults", PAGE_SIZE), ("singleEvents", "true")];
        if let Some(t) = sync_token {
            query.push(("syncToken", t));
        }
        if let Some(t) = page_token {
            query.push(("pageToken", t));
        }
        let v = send(self.request(Method::GET, &path, token).query(&query)).await?;
        Ok(EventPage {
            items: v["items"]
                .as_array()
                .map(|a| a.iter().filter_map(Event::from_json).collect())
                .unwrap_or_default(),
            next_page_token: v["nextPageToken"].as_str().map(str::to_string),
            next_sync_token: v["nextSyncToken"].as_str().map(str::to_string),
        })
    }

    /// Asks Google to POST to `address` when the calendar changes.
    pub async fn watch(
        &self,
        token: &str,
        cal: &str,
        channel_id: &str,
        channel_token: &str,
        address: &str,
    ) -> Result<Channel, ApiError> {
        let path = format!("/calendars/{}/events/watch", enc(cal));
        let body = json!({
            "id": channel_id,
            "type": "web_hook",
            "address": address,
            "token": channel_token,
        });
        let v = send(self.request(Method::POST, &path, token).json(&body)).await?;
        Ok(Channel {
            resource_id: v["resourceId"].as_str().unwrap_or_default().to_string(),
            // Google sends the expiration as a string of epoch milliseconds.
            expires_at: v["expiration"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .or_else(|| v["expiration"].as_i64()),
        })
    }

    pub async fn stop(
        &self,
        token: &str,
        channel_id: &str,
        resource_id: &str,
    ) -> Result<(), ApiError> {
        let body = json!({ "id": channel_id, "resourceId": resource_id });
        match send(
            self.request(Method::POST, "/channels/stop", token)
                .json(&body),
        )
        .await
        {
            Ok(_) | Err(ApiError::NotFound) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// No redirects (a token must never follow one elsewhere), bounded time.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("Hitch/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

fn event(v: Value) -> Result<Event, ApiError> {
    Event::from_json(&v).ok_or_else(|| ApiError::Unavailable("an event without an id".into()))
}

async fn send(req: RequestBuilder) -> Result<Value, ApiError> {
    let res = req
        .send()
        .await
        .map_err(|e| ApiError::Unavailable(redact_urls(&e.to_string())))?;
    let status = res.status();
    let retry_after = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(|s| Duration::from_secs(s.min(3600)));
    if status == StatusCode::NO_CONTENT {
        return Ok(Value::Null);
    }
    let body: Value = res.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(body);
    }
    Err(classify(status, &body, retry_after))
}

/// Google's error object: `{"error": {"code", "message", "errors": [{"reason"}]}}`.
pub fn classify(status: StatusCode, body: &Value, retry_after: Option<Duration>) -> ApiError {
    let reason = body["error"]["errors"][0]["reason"].as_str().unwrap_or("");
    let message: String = body["error"]["message"]
        .as_str()
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error"))
        .chars()
        .take(300)
        .collect();
    match status.as_u16() {
        401 => ApiError::Unauthorized,
        404 => ApiError::NotFound,
        409 => ApiError::Duplicate,
        410 => ApiError::Gone,
        412 => ApiError::Changed,
        429 => ApiError::RateLimited(retry_after),
        403 if matches!(
            reason,
            "rateLimitExceeded" | "userRateLimitExceeded" | "quotaExceeded"
        ) =>
        {
            ApiError::RateLimited(retry_after)
        }
        s if s >= 500 => ApiError::Unavailable(format!("{s}: {}", redact_urls(&message))),
        s => ApiError::Refused(s, redact_urls(&message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(reason: &str) -> Value {
        json!({"error": {"code": 403, "message": "m", "errors": [{"domain": "usageLimits", "reason": reason}]}})
    }

    #[test]
    fn rate_limits_are_told_apart_from_permission_errors() {
        let forbidden = StatusCode::FORBIDDEN;
        assert_eq!(
            classify(forbidden, &err("rateLimitExceeded"), None),
            ApiError::RateLimited(None)
        );
        assert_eq!(
            classify(forbidden, &err("userRateLimitExceeded"), None),
            ApiError::RateLimited(None)
        );
        assert!(matches!(
            classify(forbidden, &err("forbidden"), None),
            ApiError::Refused(403, _)
        ));
        assert_eq!(
            classify(
                StatusCode::TOO_MANY_REQUESTS,
                &Value::Null,
                Some(Duration::from_secs(7))
            ),
            ApiError::RateLimited(Some(Duration::from_secs(7)))
        );
        assert!(matches!(
            classify(StatusCode::BAD_GATEWAY, &Value::Null, None),
            ApiError::Unavailable(_)
        ));
    }

    #[test]
    fn event_ids_are_base32hex_and_stable() {
        let id = event_id("bkg_01JX");
        assert_eq!(id, event_id("bkg_01JX"));
        assert_ne!(id, event_id("bkg_01JY"));
        assert!((5..=1024).contains(&id.len()));
        assert!(
            id.chars()
                .all(|c| c.is_ascii_digit() || ('a'..='v').contains(&c))
        );
    }

    #[test]
    fn events_read_times_days_and_the_booking() {
        let e = Event::from_json(&json!({
            "id": "e1", "etag": "\"1\"", "status": "confirmed",
            "start": {"dateTime": "2026-12-24T19:00:00+01:00"},
            "end": {"dateTime": "2026-12-24T21:00:00+01:00"},
            "extendedProperties": {"private": {"hitchBooking": "bkg_1"}}
        }))
        .expect("event");
        assert_eq!(
            e.start.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-12-24T18:00:00+00:00")
        );
        assert_eq!(e.booking_id.as_deref(), Some("bkg_1"));
        let d = Event::from_json(&json!({
            "id": "e2", "status": "cancelled",
            "start": {"date": "2026-12-24"}, "end": {"date": "2026-12-25"},
            "transparency": "transparent"
        }))
        .expect("event");
        assert!(d.cancelled() && d.transparent && d.start.is_none());
        assert_eq!(
            d.days.map(|x| x.0.to_string()).as_deref(),
            Some("2026-12-24")
        );
    }
}
