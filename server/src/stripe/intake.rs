//! Group commit for Stripe's inbound events. Every request hands its verified event to
//! one writer task and waits for the answer; the writer stores everything that arrived
//! meanwhile in one transaction (the events, then a processing job for each
//! organization with new ones and none waiting) and answers all of them after the
//! commit. Under load
//! that is one commit for dozens of events instead of one each, which is what lets a
//! single SQLite writer keep up; an event is still acknowledged only once it is durable.
use std::collections::HashSet;
use std::time::Duration;

use sea_orm::{ConnectionTrait, DbErr, Value};
use tokio::sync::{mpsc, oneshot};

use super::{Stripe, process};
use crate::jobs::{self, NewJob};
use crate::platform::sql::{placeholders, stmt};
use crate::platform::{ids, now_ms};

/// An event as the endpoint verified it.
pub struct Received {
    pub org_id: String,
    pub stripe_id: String,
    pub event_type: String,
    pub created: i64,
    pub livemode: bool,
    pub payload: String,
}

/// How storing went: stored now, or Stripe had sent it before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    New,
    Duplicate,
}

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("too many events waiting to be stored")]
    Busy,
    #[error("storing took longer than {WAIT_LIMIT:?}")]
    TimedOut,
    #[error("the event could not be stored: {0}")]
    Database(String),
}

struct Pending {
    event: Received,
    reply: oneshot::Sender<Result<Stored, IntakeError>>,
}

/// Most events written in one transaction; more simply wait for the next one.
const MAX_BATCH: usize = 256;
/// Events waiting beyond this are refused with 503 (Stripe retries them later)
/// rather than queued without bound in memory.
const QUEUE_LIMIT: usize = 8192;
/// How long a request waits for its batch before answering 503 (Stripe retries).
const WAIT_LIMIT: Duration = Duration::from_secs(10);
/// Rows per INSERT statement (8 values each: well under SQLite's parameter limit).
const ROWS_PER_STATEMENT: usize = 64;

#[derive(Clone)]
pub struct Intake {
    tx: mpsc::Sender<Pending>,
}

impl Intake {
    /// Starts the writer task; it ends when every `Intake` clone is dropped.
    pub fn start(stripe: Stripe) -> Intake {
        let (tx, rx) = mpsc::channel(QUEUE_LIMIT);
        tokio::spawn(writer(stripe, rx));
        Intake { tx }
    }

    pub async fn store(&self, event: Received) -> Result<Stored, IntakeError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .try_send(Pending { event, reply })
            .map_err(|_| IntakeError::Busy)?;
        match tokio::time::timeout(WAIT_LIMIT, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(IntakeError::Database("the writer stopped".into())),
            // Answering 503 is safe: should the batch still commit, Stripe's retry is a
            // duplicate and is recognised as one.
            Err(_) => Err(IntakeError::TimedOut),
        }
    }
}

async fn writer(stripe: Stripe, mut rx: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let outcome = write(&stripe, &batch).await;
        if let Err(e) = &outcome {
            tracing::error!(error = %e, events = batch.len(), "cannot store Stripe events");
        }
        let mut any_new = false;
        for (i, p) in batch.drain(..).enumerate() {
            let answer = match &outcome {
                Ok(stored) => {
                    any_new |= stored[i] == Stored::New;
                    Ok(stored[i])
                }
                Err(e) => Err(IntakeError::Database(e.to_string())),
            };
            // The request may have given up (client gone); the event is stored anyway.
            let _ = p.reply.send(answer);
        }
        if any_new {
            stripe.outbox.hub().jobs_enqueued();
        }
    }
}

/// Stores a batch in one transaction; says for each entry whether it was new.
async fn write(stripe: &Stripe, batch: &[Pending]) -> Result<Vec<Stored>, DbErr> {
    // The same event twice in one batch: the first one counts.
    let mut seen = HashSet::with_capacity(batch.len());
    let candidates: Vec<(usize, String)> = batch
        .iter()
        .enumerate()
        .filter(|(_, p)| seen.insert((p.event.org_id.as_str(), p.event.stripe_id.as_str())))
        .map(|(i, _)| (i, ids::new("sev")))
        .collect();

    // A webhook request waits on this write: it goes before the background writers.
    let _turn = stripe.gate.enter_first().await;
    let txn = crate::db::begin_write(&stripe.db).await?;
    let now = now_ms();
    let mut inserted: HashSet<String> = HashSet::with_capacity(candidates.len());
    for chunk in candidates.chunks(ROWS_PER_STATEMENT) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 8);
        let mut rows = Vec::with_capacity(chunk.len());
        for (n, (i, id)) in chunk.iter().enumerate() {
            let e = &batch[*i].event;
            rows.push(format!("({})", placeholders(n * 8 + 1, 8)));
            values.extend([
                id.clone().into(),
                e.org_id.clone().into(),
                e.stripe_id.clone().into(),
                e.event_type.clone().into(),
                e.created.into(),
                e.livemode.into(),
                e.payload.clone().into(),
                now.into(),
            ]);
        }
        // RETURNING names the rows that went in: an event already stored (sent again
        // by Stripe, perhaps to another server process) conflicts and is left out.
        let sql = format!(
            "INSERT INTO stripe_events
                (id, organization_id, stripe_id, event_type, created, livemode, payload, received_at)
             VALUES {}
             ON CONFLICT (organization_id, stripe_id) DO NOTHING
             RETURNING id",
            rows.join(", ")
        );
        for row in txn.query_all_raw(stmt(&txn, &sql, values)).await? {
            inserted.insert(row.try_get::<String>("", "id")?);
        }
    }
    // A processing job for each organization with new events, unless one is already
    // waiting to start: it drains them all.
    let mut orgs: Vec<&str> = candidates
        .iter()
        .filter(|(_, id)| inserted.contains(id))
        .map(|(i, _)| batch[*i].event.org_id.as_str())
        .collect();
    orgs.sort_unstable();
    orgs.dedup();
    let waiting = process::waiting_jobs(&txn, &orgs).await?;
    let new_jobs: Vec<NewJob> = orgs
        .into_iter()
        .filter(|o| !waiting.contains(*o))
        .map(process::job)
        .collect();
    if !new_jobs.is_empty() {
        jobs::insert(&txn, &new_jobs).await?;
    }
    txn.commit().await?;

    let mut stored = vec![Stored::Duplicate; batch.len()];
    for (i, id) in &candidates {
        if inserted.contains(id) {
            stored[*i] = Stored::New;
        }
    }
    Ok(stored)
}
