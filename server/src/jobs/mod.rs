//! The durable job runner behind every integration.
//!
//! A job is a row in `jobs`. Workers claim due rows under a lease (`FOR UPDATE SKIP
//! LOCKED` on PostgreSQL; one atomic UPDATE on SQLite), run them with the kind's
//! timeout, record every attempt in `job_attempts`, and retry with backoff until the
//! kind's attempt limit, then mark the job `dead`. A lease outlives the timeout, so a
//! job never runs twice at once; a crashed worker's lease simply expires and the job
//! runs again (at least once, never lost).
pub mod backoff;
pub mod key_limits;
pub mod queue;
pub mod runner;
pub mod system;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait};
use serde_json::Value;

pub use backoff::Backoff;

use crate::db::entities::job;
use crate::platform::{Hub, ids, now_ms};

/// Job states as stored.
pub mod status {
    pub const QUEUED: &str = "queued";
    pub const RUNNING: &str = "running";
    pub const DONE: &str = "done";
    pub const DEAD: &str = "dead";
}

/// Why an attempt failed, recorded on the attempt and the job beside the message, so
/// an operator can count and filter failures by cause.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The database refused the work or could not be reached.
    Database,
    /// The remote service could not be reached (DNS, connection, TLS, its timeout).
    Unreachable,
    /// The remote service answered with an error.
    Rejected,
    /// Waiting for a rate limit, an open circuit or the remote's `Retry-After`.
    Throttled,
    /// The job's own data or settings are unusable (bad payload, missing secret).
    Invalid,
    /// The attempt ran past its kind's timeout.
    Timeout,
    /// The handler panicked.
    Panicked,
    /// This server has no handler for the kind (an older or newer version enqueued it).
    NoHandler,
    /// The worker stopped (crash, kill) before the attempt finished.
    Lost,
    /// Anything else (a test kind's deliberate failure).
    Other,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Database => "database",
            Reason::Unreachable => "unreachable",
            Reason::Rejected => "rejected",
            Reason::Throttled => "throttled",
            Reason::Invalid => "invalid",
            Reason::Timeout => "timeout",
            Reason::Panicked => "panicked",
            Reason::NoHandler => "no_handler",
            Reason::Lost => "lost",
            Reason::Other => "other",
        }
    }
}

/// How a handler reports failure: what to do next, why, and a message for people.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Try again after the kind's backoff.
    #[error("{1}")]
    Retry(Reason, String),
    /// Try again no sooner than this (e.g. the target's `Retry-After`).
    #[error("{2}")]
    RetryAfter(Duration, Reason, String),
    /// Retrying cannot help: the job goes straight to `dead`.
    #[error("{1}")]
    Fatal(Reason, String),
}

impl JobError {
    pub fn reason(&self) -> Reason {
        match self {
            JobError::Retry(r, _) | JobError::RetryAfter(_, r, _) | JobError::Fatal(r, _) => *r,
        }
    }
}

/// A database failure is worth retrying: it is usually a moment's contention.
impl From<DbErr> for JobError {
    fn from(e: DbErr) -> JobError {
        JobError::Retry(Reason::Database, format!("database: {e}"))
    }
}

/// What a handler sees of its job.
pub struct JobContext {
    pub id: String,
    pub kind: String,
    pub org_id: Option<String>,
    pub attempt: i32,
    pub payload: Value,
    pub db: DatabaseConnection,
    pub hub: Hub,
}

#[async_trait]
pub trait Handler: Send + Sync {
    async fn run(&self, job: &JobContext) -> Result<(), JobError>;
}

/// A kind of job and its retry policy.
#[derive(Clone)]
pub struct Kind {
    pub name: &'static str,
    pub timeout: Duration,
    pub max_attempts: i32,
    pub backoff: Backoff,
    pub handler: Arc<dyn Handler>,
}

/// The kinds this process can run, by name.
#[derive(Clone, Default)]
pub struct Registry {
    kinds: HashMap<&'static str, Kind>,
}

impl Registry {
    /// Every kind Hitch ships. Integrations add theirs here as they land.
    pub fn standard() -> Registry {
        let mut r = Registry::default();
        system::register(&mut r);
        r
    }

    pub fn add(&mut self, kind: Kind) {
        self.kinds.insert(kind.name, kind);
    }

    pub fn get(&self, name: &str) -> Option<&Kind> {
        self.kinds.get(name)
    }

    pub fn names(&self) -> Vec<&'static str> {
        let mut v: Vec<_> = self.kinds.keys().copied().collect();
        v.sort_unstable();
        v
    }
}

/// A job to enqueue.
#[derive(Clone, Debug)]
pub struct NewJob {
    pub kind: &'static str,
    pub payload: Value,
    pub org_id: Option<String>,
    /// At most `limit` jobs sharing `key` run at once (e.g. one webhook endpoint).
    pub concurrency: Option<(String, i32)>,
    pub run_at: Option<DateTime<Utc>>,
    /// Set when the caller needs the id before the job is written (a delivery row
    /// that names its job).
    pub id: Option<String>,
    /// The kind's attempt limit and timeout, for writers without a registry at hand
    /// (event subscribers, the Stripe intake).
    pub limits: Option<(i32, Duration)>,
}

impl NewJob {
    pub fn new(kind: &'static str, payload: Value) -> NewJob {
        NewJob {
            kind,
            payload,
            org_id: None,
            concurrency: None,
            run_at: None,
            id: None,
            limits: None,
        }
    }

    /// A new job id, fixed now so other rows can name the job.
    pub fn with_new_id(mut self) -> NewJob {
        self.id = Some(ids::new("job"));
        self
    }

    pub fn limits(mut self, max_attempts: i32, timeout: Duration) -> NewJob {
        self.limits = Some((max_attempts, timeout));
        self
    }

    pub fn org(mut self, org_id: &str) -> NewJob {
        self.org_id = Some(org_id.into());
        self
    }

    /// Due this long from now rather than at once.
    pub fn after(mut self, delay: Duration) -> NewJob {
        self.run_at = Some(Utc::now() + delay);
        self
    }

    pub fn limit_per(mut self, key: impl Into<String>, limit: i32) -> NewJob {
        self.concurrency = Some((key.into(), limit.max(1)));
        self
    }
}

/// Lease granted past the timeout, so a job that just timed out is recorded before
/// anyone else may claim it.
const LEASE_GRACE: Duration = Duration::from_secs(5);

/// Writes jobs in the caller's transaction; call [`Hub::jobs_enqueued`] after commit.
/// Unknown kinds are refused here rather than failing later in a worker.
pub async fn enqueue(
    db: &impl ConnectionTrait,
    registry: &Registry,
    jobs: &[NewJob],
) -> Result<Vec<String>, DbErr> {
    let mut limits = Vec::with_capacity(jobs.len());
    for j in jobs {
        let kind = registry
            .get(j.kind)
            .ok_or_else(|| DbErr::Custom(format!("unknown job kind {}", j.kind)))?;
        limits.push((kind.max_attempts, kind.timeout));
    }
    write(db, jobs, |i| limits[i]).await
}

/// Writes jobs that carry their kind's limits ([`NewJob::limits`]) in the caller's
/// transaction: the event subscribers' and the Stripe intake's, where no registry is at
/// hand. Inside a [`crate::events::UnitOfWork`] use its `enqueue`, which wakes the
/// workers on commit.
pub async fn insert(db: &impl ConnectionTrait, jobs: &[NewJob]) -> Result<Vec<String>, DbErr> {
    let mut limits = Vec::with_capacity(jobs.len());
    for j in jobs {
        limits.push(j.limits.ok_or_else(|| {
            DbErr::Custom(format!("job kind {} enqueued without its limits", j.kind))
        })?);
    }
    write(db, jobs, |i| limits[i]).await
}

async fn write(
    db: &impl ConnectionTrait,
    jobs: &[NewJob],
    limits: impl Fn(usize) -> (i32, Duration),
) -> Result<Vec<String>, DbErr> {
    let now = now_ms();
    let mut rows = Vec::with_capacity(jobs.len());
    let mut ids_out = Vec::with_capacity(jobs.len());
    for (i, j) in jobs.iter().enumerate() {
        let (max_attempts, timeout) = limits(i);
        let id = j.id.clone().unwrap_or_else(|| ids::new("job"));
        ids_out.push(id.clone());
        rows.push(job::ActiveModel {
            id: Set(id),
            kind: Set(j.kind.into()),
            organization_id: Set(j.org_id.clone()),
            concurrency_key: Set(j.concurrency.as_ref().map(|c| c.0.clone())),
            concurrency_limit: Set(j.concurrency.as_ref().map(|c| c.1)),
            payload: Set(j.payload.to_string()),
            status: Set(status::QUEUED.into()),
            attempts: Set(0),
            max_attempts: Set(max_attempts),
            run_at: Set(j.run_at.map_or(now, |t| t.timestamp_millis())),
            locked_by: Set(None),
            locked_at: Set(None),
            locked_until: Set(None),
            lease_ms: Set((timeout + LEASE_GRACE).as_millis() as i64),
            lost_by: Set(None),
            lost_at: Set(None),
            last_error: Set(None),
            last_reason: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            finished_at: Set(None),
        });
    }
    // Chunks keep each statement under SQLite's bound-parameter limit.
    for chunk in rows.chunks(500) {
        job::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    Ok(ids_out)
}

/// Enqueues outside any transaction and wakes the workers.
pub async fn enqueue_now(
    db: &DatabaseConnection,
    hub: &Hub,
    registry: &Registry,
    jobs: &[NewJob],
) -> Result<Vec<String>, DbErr> {
    let ids = enqueue(db, registry, jobs).await?;
    hub.jobs_enqueued();
    Ok(ids)
}
