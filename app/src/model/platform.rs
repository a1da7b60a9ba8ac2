//! What the dashboard shows of the platform: the job queue and the API keys.
use serde::{Deserialize, Serialize};

/// Jobs of one kind by state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobKindRow {
    pub kind: String,
    /// Waiting for their first run.
    pub queued: i64,
    pub running: i64,
    /// Failed at least once, waiting for their next attempt.
    pub retrying: i64,
    /// Out of attempts; they run again only when retried by hand.
    pub dead: i64,
    pub done: i64,
}

/// A job that needs attention (retrying or dead).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRow {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub last_error: String,
    /// When it next runs (retrying) or died (dead), in the organization's time zone.
    pub when: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobsOverview {
    pub kinds: Vec<JobKindRow>,
    pub attention: Vec<JobRow>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyView {
    pub id: String,
    pub name: String,
    /// The first characters of the key, enough to recognise it.
    pub prefix: String,
    /// `read_write`, `read_only` or `webhooks`.
    pub scope: String,
    pub scope_label: String,
    pub created: String,
    pub last_used: Option<String>,
    pub revoked: bool,
}

/// A key just created: the only moment its full value exists outside its owner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewApiKey {
    pub key: ApiKeyView,
    pub secret: String,
}

/// One entry of the event-type catalog.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventTypeView {
    pub name: String,
    pub description: String,
    /// Pretty-printed sample payload.
    pub sample: String,
}

/// Something an integration needs a person for (a webhook endpoint Hitch switched off,
/// a channel that keeps failing): every dashboard page shows it to admins.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrationAlert {
    /// The banner's heading, shared by the alerts of one kind ("Webhook deliveries stopped").
    pub title: String,
    /// What stopped, as a link's text (an endpoint's URL).
    pub subject: String,
    /// Where to fix it.
    pub href: String,
    /// Why, in a sentence.
    pub detail: String,
}
