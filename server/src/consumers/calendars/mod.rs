//! Two-way calendar sync as a consumer of domain events. A booking change enqueues one
//! push job per connection it concerns, in the booking's transaction, so the write never
//! waits for Google; pulls (on a push notice from Google, on a timer, or on demand) bring
//! busy time in and notice bookings' events moved or deleted there. All calls for one
//! connection run one at a time (one job concurrency key), in every process.
pub mod caldav;
pub mod caldav_sync;
pub mod conflicts;
pub mod connect;
pub mod connect_caldav;
pub mod connection;
pub mod google;
pub mod manage;
pub mod oauth;
pub mod pull;
pub mod push;
pub mod subscriber;
pub mod watch;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use app::model::auth::CurrentUser;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::jobs::{Backoff, Kind, NewJob, Registry};
use crate::vault::Vault;

pub use subscriber::CalendarSubscriber;

/// Writes one booking's event to one connection's calendar.
pub const PUSH: &str = "calendar.push";
/// Reads what changed in one connection's calendars.
pub const PULL: &str = "calendar.pull";
const PUSH_TIMEOUT: Duration = Duration::from_secs(60);
const PULL_TIMEOUT: Duration = Duration::from_secs(300);
const MAX_ATTEMPTS: i32 = 12;

/// Connection states as stored.
pub mod state {
    pub const CONNECTED: &str = "connected";
    /// Google refused the refresh token (`invalid_grant`): someone must sign in again.
    pub const RECONNECT: &str = "reconnect_needed";
}

/// Who wins when a booking's event changed in the calendar.
pub mod strategy {
    pub const HITCH: &str = "hitch";
    pub const CALENDAR: &str = "calendar";
    pub const ASK: &str = "ask";
    pub const ALL: [&str; 3] = [HITCH, CALENDAR, ASK];
}

/// Where a connection's tokens live in the vault.
pub fn secret_name(connection_id: &str) -> String {
    format!("calendar:{connection_id}")
}

/// The booking changes a calendar may cause (calendar wins, an accepted proposal).
/// The services own the booking rules; the composition root hands them in, so a move
/// from Google is checked, audited and announced like any other.
#[async_trait]
pub trait BookingChanges: Send + Sync {
    /// A refusal is a sentence for people (the slot is taken, outside opening hours).
    async fn move_to(
        &self,
        who: &CurrentUser,
        booking_id: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<(), String>;
    async fn cancel(&self, who: &CurrentUser, booking_id: &str, reason: &str)
    -> Result<(), String>;
}

/// What the calendar jobs and the dashboard share.
#[derive(Clone)]
pub struct Deps {
    pub vault: Vault,
    /// None when the server has no Google OAuth client configured.
    pub oauth: Option<oauth::GoogleOAuth>,
    pub api: google::GoogleApi,
    pub http: reqwest::Client,
    /// Where CalDAV servers (addresses users type) may be reached, and the client
    /// bound to that policy.
    pub outbound: crate::platform::outbound::OutboundPolicy,
    pub dav_http: reqwest::Client,
    /// Where Google sends push notices: `{public_url}/hooks/google-calendar`.
    pub public_url: String,
    /// Announces connection changes (a lost grant) to dashboards and caches.
    pub hub: crate::platform::Hub,
    /// Set once the services exist (they are built on the outbox this consumer feeds).
    pub changes: Arc<OnceLock<Arc<dyn BookingChanges>>>,
}

impl Deps {
    pub fn changes(&self) -> Option<&Arc<dyn BookingChanges>> {
        self.changes.get()
    }
}

/// The concurrency key every call of one connection shares.
fn lane(connection_id: &str) -> String {
    format!("calendar:{connection_id}")
}

pub fn push_job(org_id: &str, connection_id: &str, booking_id: &str) -> NewJob {
    NewJob::new(
        PUSH,
        serde_json::json!({ "connection_id": connection_id, "booking_id": booking_id }),
    )
    .org(org_id)
    .limit_per(lane(connection_id), 1)
    .limits(MAX_ATTEMPTS, PUSH_TIMEOUT)
}

pub fn pull_job(org_id: &str, connection_id: &str) -> NewJob {
    NewJob::new(PULL, serde_json::json!({ "connection_id": connection_id }))
        .org(org_id)
        .limit_per(lane(connection_id), 1)
        .limits(MAX_ATTEMPTS, PULL_TIMEOUT)
}

pub fn register(r: &mut Registry, deps: Deps) {
    let backoff = Backoff::new(Duration::from_secs(5), Duration::from_secs(1800));
    r.add(Kind {
        name: PUSH,
        timeout: PUSH_TIMEOUT,
        max_attempts: MAX_ATTEMPTS,
        backoff,
        handler: Arc::new(push::Push::new(deps.clone())),
    });
    r.add(Kind {
        name: PULL,
        timeout: PULL_TIMEOUT,
        max_attempts: MAX_ATTEMPTS,
        backoff,
        handler: Arc::new(pull::Pull::new(deps)),
    });
}
