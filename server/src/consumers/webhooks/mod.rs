//! Outbound webhooks: endpoints subscribe to domain events; each event becomes one
//! delivery per endpoint, sent by the job runner, signed per Standard Webhooks, retried
//! on a fixed schedule, with every attempt logged. Zapier REST hooks are endpoints too
//! (`source = zapier`, flat payloads).
pub mod deliver;
pub mod delivery_log;
mod endpoint_view;
pub mod endpoints;
pub mod fanout;
mod loader;
pub mod manage;
mod outcome;
pub mod pacing;
pub mod payload;
pub mod policy;
pub mod signing;
pub mod subscriber;
mod success_log;

use std::sync::Arc;
use std::time::Duration;

use crate::db::entities::webhook_endpoint;
use crate::jobs::{Backoff, Kind, Registry};
use crate::vault::Vault;

pub use crate::platform::outbound::OutboundPolicy;
pub use subscriber::WebhookSubscriber;

/// The job kind that sends one delivery.
pub const KIND: &str = "webhook.deliver";
/// Longest request timeout allowed; the job's own timeout leaves room for the logging.
pub const MAX_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Room past the request timeout for the signing before and the logging after.
const JOB_SLACK: Duration = Duration::from_secs(5);

/// A delivery job's timeout: the configured request timeout (capped) plus a little. It
/// sizes the lease, so it is also how soon another worker takes over from one that was
/// killed (25 s with the default 15 s timeout, the job runner's 5 s grace included).
pub fn job_timeout(request_timeout: Duration) -> Duration {
    request_timeout.min(MAX_REQUEST_TIMEOUT) + JOB_SLACK
}
/// The delivery counts its real HTTP attempts itself (see [`policy::SCHEDULE`]); the job
/// may also be put off by an open circuit or the rate limit, which costs no attempt.
pub(crate) const JOB_MAX_ATTEMPTS: i32 = 1000;
/// Response bodies are kept up to this size.
pub const MAX_LOGGED_BODY: usize = 16 * 1024;

/// Delivery states as stored.
pub mod status {
    pub const PENDING: &str = "pending";
    pub const SUCCEEDED: &str = "succeeded";
    pub const FAILED: &str = "failed";
    pub const ALL: [&str; 3] = [PENDING, SUCCEEDED, FAILED];
}

/// The concurrency key of an endpoint's delivery jobs; its limit adapts (see [`pacing`]).
pub fn lane_key(endpoint_id: &str) -> String {
    format!("webhook:{endpoint_id}")
}

/// Where a delivery's job can find its signing secrets in the vault.
pub fn secret_name(endpoint_id: &str, version: i32) -> String {
    format!("webhook:{endpoint_id}:v{version}")
}

/// The vault entry holding an endpoint's custom headers (they may carry credentials).
pub fn headers_name(endpoint_id: &str) -> String {
    format!("webhook:{endpoint_id}:headers")
}

/// Whether an endpoint wants events of this type (`None` filter: every type).
pub fn endpoint_matches(ep: &webhook_endpoint::Model, event_type: &str) -> bool {
    match &ep.event_types {
        None => true,
        Some(list) => serde_json::from_str::<Vec<String>>(list)
            .map(|types| types.iter().any(|t| t == event_type))
            .unwrap_or(false),
    }
}

/// Registers the delivery kind; its handler holds the vault and the guarded client.
pub fn register(r: &mut Registry, vault: Vault, policy: OutboundPolicy, timeout: Duration) {
    let timeout = timeout.min(MAX_REQUEST_TIMEOUT);
    r.add(Kind {
        name: KIND,
        timeout: job_timeout(timeout),
        max_attempts: JOB_MAX_ATTEMPTS,
        // The handler names every delay itself (`RetryAfter`); no extra backoff.
        backoff: Backoff::new(Duration::ZERO, Duration::ZERO),
        handler: Arc::new(deliver::Deliver::new(vault, policy, timeout)),
    });
}
