//! Notifications: rules turn domain events into messages on channels (Slack, Discord,
//! email, SMS). A message is decided in the event's transaction (a `notifications` row
//! and its job) and sent by the job runner, so nothing is sent for a rolled-back change,
//! nothing is lost when the process dies after commit, and a slow channel never slows
//! a booking. Reminders are the same rows, due some hours before the booking.
pub mod channels;
pub mod context;
pub mod defaults;
mod editing;
pub mod log;
pub mod manage;
mod prepare;
pub mod render;
pub mod send;
pub mod subscriber;
pub mod variables;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;

use crate::events::WeakOutbox;
use crate::jobs::{Backoff, Kind, NewJob, Registry};
use crate::platform::outbound::OutboundPolicy;
use crate::vault::Vault;

pub use subscriber::NotificationSubscriber;

/// The job kind that sends one notification.
pub const KIND: &str = "notify.send";
/// Every provider call times out within 20 s; a process killed mid-send leaves its
/// messages leased for this plus the runner's grace, then another process takes them.
const JOB_TIMEOUT: Duration = Duration::from_secs(30);
/// Real sends are counted on the row; the job may also wait for a rate limit or an
/// open circuit, which costs no send.
const JOB_MAX_ATTEMPTS: i32 = 50;
/// Sends of one message before it is given up.
pub const MAX_SENDS: i32 = 6;
/// Consecutive failures that open a channel's circuit, and for how long.
pub const CIRCUIT_AFTER: i32 = 5;
pub const CIRCUIT_OPEN: Duration = Duration::from_secs(300);

/// Notification states as stored.
pub mod status {
    pub const PENDING: &str = "pending";
    pub const SENDING: &str = "sending";
    pub const SENT: &str = "sent";
    pub const FAILED: &str = "failed";
    pub const SKIPPED: &str = "skipped";
    pub const ALL: [&str; 5] = [PENDING, SENDING, SENT, FAILED, SKIPPED];
}

/// Where a channel's secret (webhook URL, password, API key, token) lives in the vault.
pub fn secret_name(channel_id: &str) -> String {
    format!("notify:{channel_id}")
}

/// The guest's manage link for a booking, issued if there is none. The portal owns the
/// tokens; the composition root hands an implementation in.
#[async_trait]
pub trait GuestLinks: Send + Sync {
    async fn manage_url(&self, org_id: &str, booking_id: &str) -> Result<Option<String>, String>;
}

/// What the notification jobs need beyond the database.
#[derive(Clone)]
pub struct Deps {
    pub vault: Vault,
    pub policy: OutboundPolicy,
    pub links: Arc<dyn GuestLinks>,
    /// The dashboard's public address, for links in messages.
    pub public_url: String,
    pub twilio_api_base: String,
    pub sendgrid_api_base: String,
    /// Extra roots (PEM) trusted for SMTP TLS, besides the public web PKI.
    pub smtp_roots: Option<Arc<Vec<u8>>>,
    /// Set once the outbox exists (it owns this consumer): failures become events.
    pub outbox: Arc<OnceLock<WeakOutbox>>,
}

/// The job that sends one notification, at `run_at` for reminders.
pub fn send_job(org_id: &str, channel_id: &str, kind: &str, notification_id: &str) -> NewJob {
    // Slack asks for about one message per second per webhook: one in flight.
    let in_flight = if kind == "slack" { 1 } else { 4 };
    NewJob::new(
        KIND,
        serde_json::json!({ "notification_id": notification_id }),
    )
    .with_new_id()
    .org(org_id)
    .limit_per(format!("notify:{channel_id}"), in_flight)
    .limits(JOB_MAX_ATTEMPTS, JOB_TIMEOUT)
}

pub fn register(r: &mut Registry, deps: Deps) {
    r.add(Kind {
        name: KIND,
        timeout: JOB_TIMEOUT,
        max_attempts: JOB_MAX_ATTEMPTS,
        backoff: Backoff::new(Duration::from_secs(10), Duration::from_secs(3600)),
        handler: Arc::new(send::Send::new(deps)),
    });
}
