//! The worker loop: claim a batch, run each job under its kind's timeout on a bounded
//! number of slots, and hand outcomes to a completer that writes them in batches.
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection, Value};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::queue::{self, Claimed, Outcome, Result_};
use super::{JobContext, JobError, Reason, Registry, status};
use crate::db::WriteGate;
use crate::metrics::Metrics;
use crate::platform::sql::stmt;
use crate::platform::{Change, Hub, now_ms};

#[derive(Clone, Debug)]
pub struct RunnerConfig {
    /// Jobs running at once in this process.
    pub concurrency: usize,
    /// Most jobs claimed in one round trip.
    pub batch: usize,
    /// Longest sleep when idle; enqueues wake workers sooner.
    pub idle_poll: Duration,
    /// How long shutdown waits for running jobs before interrupting them.
    pub drain: Duration,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        RunnerConfig {
            concurrency: 8,
            batch: 64,
            idle_poll: Duration::from_secs(1),
            drain: Duration::from_secs(20),
        }
    }
}

/// Jobs with a concurrency key (a webhook endpoint, a calendar connection) mostly wait
/// on someone else's server; their key's limit bounds them, and this only caps the
/// process. They do not take the general slots, so a slow endpoint's deliveries never
/// hold up other work.
const KEYED_SLOTS: usize = 1024;

/// A claimed job must start within this long, or it is handed back: its lease was
/// sized for the timeout plus a grace period measured from the claim.
const MAX_START_DELAY_MS: i64 = 2_000;

pub struct Runner {
    pub db: DatabaseConnection,
    pub hub: Hub,
    /// Turns for SQLite's single writer (see `db::WriteGate`).
    pub gate: WriteGate,
    pub registry: Arc<Registry>,
    pub metrics: Metrics,
    pub config: RunnerConfig,
    /// Unique per process start, so leases of a crashed run are never mistaken for ours.
    pub worker_id: String,
}

pub fn worker_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
    format!(
        "{host}:{}:{}",
        std::process::id(),
        &crate::platform::ids::new("w")[2..12]
    )
}

impl Runner {
    pub fn spawn(self, shutdown: CancellationToken) -> JoinHandle<()> {
        tokio::spawn(self.run(shutdown))
    }

    async fn run(self, shutdown: CancellationToken) {
        let slots = Arc::new(Semaphore::new(self.config.concurrency));
        let keyed = Arc::new(Semaphore::new(KEYED_SLOTS));
        let (tx, rx) = mpsc::channel::<Outcome>(8192);
        let completer = tokio::spawn(complete_loop(
            self.db.clone(),
            self.gate.clone(),
            self.hub.clone(),
            rx,
        ));
        let hard_stop = CancellationToken::new();
        let mut local: VecDeque<(Claimed, i64)> = VecDeque::new();
        let mut drained = false;
        // Prefetching a batch beyond the free slots pays off for short jobs; when
        // prefetched jobs go stale waiting for a slot, claim only what can start.
        let mut prefetch = true;
        // Claimed jobs that waited too long for a slot; handed back in one statement.
        let mut stale = Vec::new();
        let mut error_pause = Duration::from_millis(100);
        tracing::info!(worker = %self.worker_id, concurrency = self.config.concurrency, "job runner started");

        'outer: loop {
            if shutdown.is_cancelled() {
                break;
            }
            if local.is_empty() {
                if drained {
                    drained = false;
                    self.idle_wait(&shutdown).await;
                    continue;
                }
                let free = slots.available_permits().max(1);
                let want = if prefetch {
                    self.config.batch.max(free)
                } else {
                    free
                };
                let now = now_ms();
                let turn = self.gate.enter().await;
                let claimed = queue::claim(&self.db, &self.worker_id, now, want).await;
                drop(turn);
                match claimed {
                    Ok(claimed) => {
                        error_pause = Duration::from_millis(100);
                        drained = claimed.len() < want;
                        if drained {
                            prefetch = true;
                        }
                        let claimed = self.enforce_key_limits(claimed, now).await;
                        for job in claimed {
                            if let Some((by, at)) = &job.lost {
                                tracing::warn!(job = %job.id, lost_worker = %by, "claimed a job whose worker vanished");
                                self.metrics.job_attempt(&job.kind, "lost", None);
                                let _ = tx
                                    .send(Outcome {
                                        job_id: job.id.clone(),
                                        attempt: job.attempt - 1,
                                        worker: by.clone(),
                                        started_at: *at,
                                        finished_at: now,
                                        result: Result_::Lost,
                                    })
                                    .await;
                            }
                            local.push_back((job, now));
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "claiming jobs failed; pausing");
                        tokio::select! {
                            _ = tokio::time::sleep(error_pause) => {}
                            _ = shutdown.cancelled() => break,
                        }
                        error_pause = (error_pause * 2).min(Duration::from_secs(5));
                    }
                }
                continue;
            }

            while let Some((job, claimed_at)) = local.pop_front() {
                let pool = if job.concurrency_key.is_some() {
                    &keyed
                } else {
                    &slots
                };
                let permit = tokio::select! {
                    p = pool.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break 'outer },
                    _ = shutdown.cancelled() => { local.push_front((job, claimed_at)); break 'outer }
                };
                if now_ms() - claimed_at > MAX_START_DELAY_MS {
                    stale.push(job.id);
                    continue;
                }
                tokio::spawn(execute(
                    job,
                    self.registry.clone(),
                    self.db.clone(),
                    self.hub.clone(),
                    self.metrics.clone(),
                    self.worker_id.clone(),
                    tx.clone(),
                    permit,
                    hard_stop.clone(),
                ));
            }
            if !stale.is_empty() {
                prefetch = false;
                let _ = queue::release(&self.db, &self.worker_id, &stale).await;
                stale.clear();
            }
        }

        // Shutdown: hand back what never started, let running jobs finish within the
        // drain period, then interrupt the rest (they are queued again at once).
        let mut unstarted: Vec<String> = local.into_iter().map(|(j, _)| j.id).collect();
        unstarted.append(&mut stale);
        if let Err(e) = queue::release(&self.db, &self.worker_id, &unstarted).await {
            tracing::warn!(error = %e, "could not hand back unstarted jobs; their leases will expire");
        }
        let all = self.config.concurrency as u32;
        let everything = async {
            let general = slots.acquire_many(all).await;
            let keyed = keyed.acquire_many(KEYED_SLOTS as u32).await;
            (general, keyed)
        };
        if tokio::time::timeout(self.config.drain, everything)
            .await
            .is_err()
        {
            tracing::warn!("jobs still running after the drain period; interrupting them");
            hard_stop.cancel();
            let _ = slots.acquire_many(all).await;
            let _ = keyed.acquire_many(KEYED_SLOTS as u32).await;
        }
        drop(tx);
        let _ = completer.await;
        tracing::info!(worker = %self.worker_id, "job runner stopped");
    }

    /// Sleeps until an enqueue wakes us, the next job is due, or the poll interval ends.
    async fn idle_wait(&self, shutdown: &CancellationToken) {
        let poll = self.config.idle_poll;
        let wait = match queue::next_due(&self.db).await {
            Ok(Some(due)) => {
                let ms = due - now_ms();
                // Due already but not claimable: blocked by a concurrency limit.
                Duration::from_millis(ms.clamp(20, poll.as_millis() as i64) as u64)
            }
            _ => poll,
        };
        tokio::select! {
            _ = self.hub.jobs_wakeup() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.cancelled() => {}
        }
    }

    /// A batch may hold more jobs of one key than its limit allows (the claim query
    /// only knows a slot was free); hand the excess back.
    /// Only on PostgreSQL: there two processes may claim the same free slots at once; on
    /// SQLite one claim at a time never takes more than the free slots.
    async fn enforce_key_limits(&self, claimed: Vec<Claimed>, now: i64) -> Vec<Claimed> {
        if self.db.get_database_backend() != sea_orm::DbBackend::Postgres {
            return claimed;
        }
        let mut limited: HashMap<&str, i32> = claimed
            .iter()
            .filter_map(|j| Some((j.concurrency_key.as_deref()?, j.concurrency_limit?)))
            .collect();
        if limited.is_empty() {
            return claimed;
        }
        let keys: Vec<&str> = limited.keys().copied().collect();
        let running = match running_per_key(&self.db, &keys, now).await {
            Ok((running, set)) => {
                for (k, limit) in set {
                    if let Some(l) = limited.get_mut(k.as_str()) {
                        *l = limit;
                    }
                }
                running
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not count running jobs per key");
                return claimed;
            }
        };
        // Over the limit by n: give back this batch's last n jobs of that key.
        let mut excess: HashMap<String, i64> = limited
            .iter()
            .map(|(k, limit)| {
                let n = running.get(*k).copied().unwrap_or(0) - i64::from(*limit);
                (k.to_string(), n)
            })
            .filter(|(_, n)| *n > 0)
            .collect();
        if excess.is_empty() {
            return claimed;
        }
        let mut keep = Vec::with_capacity(claimed.len());
        let mut back = Vec::new();
        for job in claimed.into_iter().rev() {
            match job.concurrency_key.as_ref().and_then(|k| excess.get_mut(k)) {
                Some(n) if *n > 0 && job.lost.is_none() => {
                    *n -= 1;
                    back.push(job.id);
                }
                _ => keep.push(job),
            }
        }
        keep.reverse();
        if let Err(e) = queue::release(&self.db, &self.worker_id, &back).await {
            tracing::warn!(error = %e, "could not hand back jobs over their key's limit");
        }
        keep
    }
}

/// Running jobs per key, and the limits set at run time for those keys.
async fn running_per_key(
    db: &DatabaseConnection,
    keys: &[&str],
    now: i64,
) -> Result<(HashMap<String, i64>, HashMap<String, i32>), sea_orm::DbErr> {
    let marks = crate::platform::sql::placeholders(2, keys.len());
    let sql = format!(
        "SELECT concurrency_key, COUNT(*) AS n FROM jobs WHERE status = '{}' AND locked_until >= $1 AND concurrency_key IN ({marks}) GROUP BY concurrency_key",
        status::RUNNING,
    );
    let mut values: Vec<Value> = vec![now.into()];
    values.extend(keys.iter().map(|k| Value::from(*k)));
    let rows = db.query_all_raw(stmt(db, &sql, values.clone())).await?;
    let mut running = HashMap::new();
    for r in rows {
        running.insert(r.try_get("", "concurrency_key")?, r.try_get("", "n")?);
    }
    let sql = format!(
        "SELECT key, max_running FROM job_key_limits WHERE key IN ({})",
        crate::platform::sql::placeholders(1, keys.len())
    );
    let rows = db
        .query_all_raw(stmt(db, &sql, values[1..].to_vec()))
        .await?;
    let mut set = HashMap::new();
    for r in rows {
        set.insert(r.try_get("", "key")?, r.try_get("", "max_running")?);
    }
    Ok((running, set))
}

#[allow(clippy::too_many_arguments)]
async fn execute(
    job: Claimed,
    registry: Arc<Registry>,
    db: DatabaseConnection,
    hub: Hub,
    metrics: Metrics,
    worker: String,
    tx: mpsc::Sender<Outcome>,
    permit: tokio::sync::OwnedSemaphorePermit,
    hard_stop: CancellationToken,
) {
    let started_at = now_ms();
    let t0 = Instant::now();
    let span = tracing::info_span!("job", id = %job.id, kind = %job.kind, attempt = job.attempt);
    let kind = registry.get(&job.kind).cloned();
    let result = match &kind {
        None => Result_::Failed {
            class: "failed",
            reason: Reason::NoHandler,
            error: format!("this server has no handler for job kind `{}`", job.kind),
            retry_at: Some(now_ms() + 60_000),
        },
        Some(kind) => {
            let ctx = JobContext {
                id: job.id.clone(),
                kind: job.kind.clone(),
                org_id: job.org_id.clone(),
                attempt: job.attempt,
                payload: serde_json::from_str(&job.payload).unwrap_or(serde_json::Value::Null),
                db,
                hub,
            };
            let handler = kind.handler.clone();
            let mut task =
                tokio::spawn(async move { handler.run(&ctx).await }.instrument(span.clone()));
            tokio::select! {
                r = tokio::time::timeout(kind.timeout, &mut task) => match r {
                    Ok(Ok(Ok(()))) => Result_::Succeeded,
                    Ok(Ok(Err(e))) => failure(&job, kind, e),
                    Ok(Err(join)) => failure(&job, kind, JobError::Retry(Reason::Panicked, format!("the handler panicked: {join}"))),
                    Err(_) => {
                        task.abort();
                        let mut r = failure(&job, kind, JobError::Retry(Reason::Timeout, format!("timed out after {:?}", kind.timeout)));
                        if let Result_::Failed { class, .. } = &mut r { *class = "timeout"; }
                        r
                    }
                },
                _ = hard_stop.cancelled() => { task.abort(); Result_::Interrupted }
            }
        }
    };
    if let Result_::Failed {
        error, retry_at, ..
    } = &result
    {
        tracing::warn!(parent: &span, %error, will_retry = retry_at.is_some(), "job attempt failed");
    }
    metrics.job_attempt(&job.kind, result.label(), Some(t0.elapsed()));
    let outcome = Outcome {
        job_id: job.id,
        attempt: job.attempt,
        worker,
        started_at,
        finished_at: now_ms(),
        result,
    };
    let _ = tx.send(outcome).await;
    drop(permit);
}

/// Turns a handler error into the next step: retry later, or dead when the attempts
/// are used up or retrying cannot help.
fn failure(job: &Claimed, kind: &super::Kind, e: JobError) -> Result_ {
    let exhausted = job.attempt >= job.max_attempts;
    let backoff = kind.backoff.delay(job.attempt, &mut rand::rng());
    let reason = e.reason();
    let (error, retry_at) = match e {
        JobError::Fatal(_, msg) => (msg, None),
        _ if exhausted => (e.to_string(), None),
        JobError::RetryAfter(after, _, msg) => {
            (msg, Some(now_ms() + after.max(backoff).as_millis() as i64))
        }
        JobError::Retry(_, msg) => (msg, Some(now_ms() + backoff.as_millis() as i64)),
    };
    Result_::Failed {
        class: "failed",
        reason,
        error: error.chars().take(4000).collect(),
        retry_at,
    }
}

/// Most outcomes in one transaction. On SQLite a webhook request may wait for one such
/// write to finish, so it is kept short; more outcomes simply go in the next one.
const OUTCOMES_PER_WRITE: usize = 256;

/// Writes outcomes in batches; a failed write is retried, since the outcomes only live
/// here (if the process dies first, leases expire and the jobs run again).
async fn complete_loop(
    db: DatabaseConnection,
    gate: WriteGate,
    hub: Hub,
    mut rx: mpsc::Receiver<Outcome>,
) {
    let mut buf: Vec<Outcome> = Vec::with_capacity(OUTCOMES_PER_WRITE);
    let mut last_announce = Instant::now() - Duration::from_secs(10);
    while rx.recv_many(&mut buf, OUTCOMES_PER_WRITE).await > 0 {
        let mut pause = Duration::from_millis(50);
        for attempt in 1..=12 {
            let turn = gate.enter().await;
            let written = queue::complete(&db, now_ms(), &buf).await;
            drop(turn);
            match written {
                Ok(()) => {
                    // Finished jobs free their keys' slots: look for more work now
                    // rather than at the next poll.
                    hub.wake_local_workers();
                    break;
                }
                Err(e) if attempt == 12 => {
                    tracing::error!(error = %e, jobs = buf.len(), "giving up recording job outcomes; the jobs will run again when their leases expire");
                }
                Err(e) => {
                    tracing::warn!(error = %e, "recording job outcomes failed; retrying");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
            }
        }
        // The jobs page refreshes live; at most one announcement a second per process.
        if last_announce.elapsed() >= Duration::from_secs(1) {
            last_announce = Instant::now();
            // An empty org reaches every organization's jobs page.
            hub.change(Change {
                org_id: String::new(),
                entity_kind: "job".into(),
                entity_id: String::new(),
                event_type: "job.changed".into(),
            });
        }
        buf.clear();
    }
}
