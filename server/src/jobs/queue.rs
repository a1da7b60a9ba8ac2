//! The SQL of the queue: claim a batch under a lease, and record a batch of outcomes.
//! Both are single statements or one short transaction per batch, so throughput does
//! not cost a round trip per job.
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Value};

use super::status;
use crate::platform::ids;
use crate::platform::sql::{placeholders, stmt};

/// A job this worker now holds.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub id: String,
    pub kind: String,
    pub org_id: Option<String>,
    pub payload: String,
    pub attempt: i32,
    pub max_attempts: i32,
    pub concurrency_key: Option<String>,
    pub concurrency_limit: Option<i32>,
    /// The worker and start of a previous attempt that never reported back.
    pub lost: Option<(String, i64)>,
}

/// How one attempt ended, as recorded.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub job_id: String,
    pub attempt: i32,
    pub worker: String,
    pub started_at: i64,
    pub finished_at: i64,
    pub result: Result_,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Result_ {
    Succeeded,
    /// Failed; run again at this time (ms), or `None` to mark the job dead.
    Failed {
        class: &'static str,
        reason: super::Reason,
        error: String,
        retry_at: Option<i64>,
    },
    /// A previous claim's worker vanished; the job was claimed again.
    Lost,
    /// Shutdown came before the job finished; it is queued again at once.
    Interrupted,
}

impl Result_ {
    pub fn label(&self) -> &'static str {
        match self {
            Result_::Succeeded => "succeeded",
            Result_::Failed { class, .. } => class,
            Result_::Lost => "lost",
            Result_::Interrupted => "interrupted",
        }
    }
}

/// Most concurrency keys served by one claim; the others (their heads waited least)
/// come in the next.
const KEYS_PER_CLAIM: usize = 64;

/// Claims up to `limit` due jobs for `worker`: queued jobs whose time has come, and
/// running jobs whose lease expired (their worker died). Each concurrency key gets at
/// most its free slots (its limit, from `job_key_limits` when set there, less what
/// runs), oldest first, so one claim never takes more of a key than it may run and a
/// busy key's backlog does not crowd out the others.
///
/// The work is bounded by the keys and the jobs taken, not by the backlog: the keys
/// are found by walking the `(status, concurrency_key, run_at)` index from key to key,
/// and each key's queue is read from its head only.
pub async fn claim(
    db: &DatabaseConnection,
    worker: &str,
    now: i64,
    limit: usize,
) -> Result<Vec<Claimed>, DbErr> {
    // A job whose worker died during its last allowed attempt is not run again: that
    // attempt counts, and the job is dead. (A job that crashes the process would
    // otherwise run after every restart, forever.)
    db.execute_raw(stmt(
        db,
        &format!(
            "UPDATE jobs SET status = '{dead}', finished_at = $1, updated_at = $1,
                lost_by = locked_by, lost_at = locked_at, locked_by = NULL, locked_until = NULL,
                last_error = 'the worker stopped before finishing its last attempt (crash or kill)',
                last_reason = '{lost}'
             WHERE status = '{running}' AND locked_until < $1 AND attempts >= max_attempts",
            dead = status::DEAD,
            running = status::RUNNING,
            lost = super::Reason::Lost.as_str(),
        ),
        vec![now.into()],
    ))
    .await?;
    let keys = free_keys(db, now).await?;
    claim_from(db, worker, now, limit, &keys).await
}

/// Concurrency keys with due work and free slots, the longest-waiting first.
async fn free_keys(db: &DatabaseConnection, now: i64) -> Result<Vec<(String, i64)>, DbErr> {
    let sql = format!(
        "WITH RECURSIVE keys(k) AS (
            SELECT (SELECT f.concurrency_key FROM jobs f
                    WHERE f.status = '{queued}' AND f.concurrency_key IS NOT NULL
                    ORDER BY f.concurrency_key LIMIT 1)
            UNION ALL
            SELECT (SELECT n.concurrency_key FROM jobs n
                    WHERE n.status = '{queued}' AND n.concurrency_key > keys.k
                    ORDER BY n.concurrency_key LIMIT 1)
            FROM keys WHERE keys.k IS NOT NULL
        ), cand(k) AS (
            SELECT k FROM keys WHERE k IS NOT NULL
            UNION
            SELECT concurrency_key FROM jobs
            WHERE status = '{running}' AND locked_until < $1 AND concurrency_key IS NOT NULL
        )
        SELECT cand.k AS key,
            (SELECT q.run_at FROM jobs q
             WHERE q.status = '{queued}' AND q.concurrency_key = cand.k
             ORDER BY q.run_at LIMIT 1) AS head,
            (SELECT MIN(e.locked_until) FROM jobs e
             WHERE e.status = '{running}' AND e.concurrency_key = cand.k) AS lease_end,
            COALESCE(
                (SELECT kl.max_running FROM job_key_limits kl WHERE kl.key = cand.k),
                (SELECT q.concurrency_limit FROM jobs q
                 WHERE q.status = '{queued}' AND q.concurrency_key = cand.k
                 ORDER BY q.run_at LIMIT 1),
                (SELECT r.concurrency_limit FROM jobs r
                 WHERE r.status = '{running}' AND r.concurrency_key = cand.k LIMIT 1),
                1) AS key_limit,
            (SELECT COUNT(*) FROM jobs r
             WHERE r.status = '{running}' AND r.concurrency_key = cand.k
               AND r.locked_until >= $1) AS running
        FROM cand",
        queued = status::QUEUED,
        running = status::RUNNING,
    );
    let rows = db.query_all_raw(stmt(db, &sql, vec![now.into()])).await?;
    let mut keys = Vec::new();
    for r in rows {
        let head: Option<i64> = r.try_get("", "head")?;
        let lease_end: Option<i64> = r.try_get("", "lease_end")?;
        let key_limit: i32 = r.try_get("", "key_limit")?;
        let running: i64 = r.try_get("", "running")?;
        let free = i64::from(key_limit) - running;
        let expired = lease_end.is_some_and(|t| t < now);
        let waited_since = match (head.filter(|h| *h <= now), expired) {
            (_, true) => i64::MIN,
            (Some(h), false) => h,
            (None, false) => continue,
        };
        if free > 0 {
            keys.push((waited_since, r.try_get::<String>("", "key")?, free));
        }
    }
    keys.sort_unstable();
    keys.truncate(KEYS_PER_CLAIM);
    Ok(keys.into_iter().map(|(_, k, free)| (k, free)).collect())
}

/// Takes up to `limit` due jobs: unkeyed ones, and from each of `keys` at most its free
/// slots, read from the head of its queue.
async fn claim_from(
    db: &DatabaseConnection,
    worker: &str,
    now: i64,
    limit: usize,
    keys: &[(String, i64)],
) -> Result<Vec<Claimed>, DbErr> {
    let lock = match db.get_database_backend() {
        DbBackend::Postgres => "FOR UPDATE SKIP LOCKED",
        _ => "",
    };
    let (queued, running) = (status::QUEUED, status::RUNNING);
    let expired = |t: &str| {
        format!(
            "{t}.status = '{running}' AND {t}.locked_until < $2 AND {t}.attempts < {t}.max_attempts"
        )
    };
    let mut picks = vec![
        format!(
            "SELECT u.id FROM (SELECT id FROM jobs
                WHERE status = '{queued}' AND concurrency_key IS NULL AND run_at <= $2
                ORDER BY run_at, id LIMIT $3) u"
        ),
        format!(
            "SELECT l.id FROM (SELECT x.id FROM jobs x
                WHERE {} AND x.concurrency_key IS NULL LIMIT $3) l",
            expired("x")
        ),
    ];
    let mut values: Vec<Value> = vec![worker.into(), now.into(), (limit as i64).into()];
    for (i, (key, free)) in keys.iter().enumerate() {
        let (k, f) = (4 + 2 * i, 5 + 2 * i);
        picks.push(format!(
            "SELECT k{i}.id FROM (SELECT h.id, h.run_at FROM (
                SELECT q.id, q.run_at FROM (SELECT id, run_at FROM jobs
                    WHERE status = '{queued}' AND concurrency_key = ${k} AND run_at <= $2
                    ORDER BY run_at, id LIMIT ${f}) q
                UNION ALL
                SELECT e.id, e.run_at FROM (SELECT x.id, x.run_at FROM jobs x
                    WHERE {} AND x.concurrency_key = ${k} LIMIT ${f}) e
             ) h ORDER BY h.run_at, h.id LIMIT ${f}) k{i}",
            expired("x")
        ));
        values.push(key.as_str().into());
        values.push((*free).into());
    }
    // Assignments read the old row, so lost_* capture the previous claim if it expired.
    // The outer select re-checks the state under the row lock (PostgreSQL re-evaluates
    // it for a row another worker changed meanwhile).
    let sql = format!(
        "UPDATE jobs SET
            status = '{running}',
            attempts = attempts + 1,
            lost_by = CASE WHEN status = '{running}' THEN locked_by ELSE NULL END,
            lost_at = CASE WHEN status = '{running}' THEN locked_at ELSE NULL END,
            locked_by = $1, locked_at = $2, locked_until = $2 + lease_ms, updated_at = $2
         WHERE id IN (
            SELECT c.id FROM jobs c
            WHERE c.id IN ({picks})
              AND ((c.status = '{queued}' AND c.run_at <= $2) OR ({expired_c}))
            ORDER BY c.run_at, c.id
            LIMIT $3
            {lock})
         RETURNING id, kind, organization_id, payload, attempts, max_attempts,
                   concurrency_key, concurrency_limit, lost_by, lost_at",
        picks = picks.join(" UNION ALL "),
        expired_c = expired("c"),
    );
    let rows = db.query_all_raw(stmt(db, &sql, values)).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let lost_by: Option<String> = r.try_get("", "lost_by")?;
        let lost_at: Option<i64> = r.try_get("", "lost_at")?;
        out.push(Claimed {
            id: r.try_get("", "id")?,
            kind: r.try_get("", "kind")?,
            org_id: r.try_get("", "organization_id")?,
            payload: r.try_get("", "payload")?,
            attempt: r.try_get("", "attempts")?,
            max_attempts: r.try_get("", "max_attempts")?,
            concurrency_key: r.try_get("", "concurrency_key")?,
            concurrency_limit: r.try_get("", "concurrency_limit")?,
            lost: lost_by.zip(lost_at),
        });
    }
    Ok(out)
}

/// Hands claimed jobs back untouched (a batch took more of one key than its limit).
pub async fn release(db: &DatabaseConnection, worker: &str, ids: &[String]) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "UPDATE jobs SET status = '{queued}', attempts = attempts - 1, locked_by = NULL,
            locked_at = NULL, locked_until = NULL
         WHERE locked_by = $1 AND id IN ({})",
        placeholders(2, ids.len()),
        queued = status::QUEUED,
    );
    let mut values: Vec<Value> = vec![worker.into()];
    values.extend(ids.iter().map(|id| Value::from(id.as_str())));
    db.execute_raw(stmt(db, &sql, values)).await?;
    Ok(())
}

/// Records a batch of outcomes in one transaction: the attempt rows, then each job's
/// new state. Updates are guarded by `locked_by` and the attempt number, so an outcome
/// that arrives after its lease was taken over (by another worker, or by this one for
/// a later attempt) cannot overwrite the new holder's state.
pub async fn complete(db: &DatabaseConnection, now: i64, batch: &[Outcome]) -> Result<(), DbErr> {
    if batch.is_empty() {
        return Ok(());
    }
    let txn = crate::db::begin_write(db).await?;
    for chunk in batch.chunks(100) {
        let mut sql = String::from(
            "INSERT INTO job_attempts (id, job_id, attempt, worker, started_at, finished_at, outcome, error, reason) VALUES ",
        );
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 9);
        for (i, o) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("({})", placeholders(i * 9 + 1, 9)));
            let reason = match &o.result {
                Result_::Failed { reason, .. } => Some(reason.as_str()),
                Result_::Lost => Some(super::Reason::Lost.as_str()),
                _ => None,
            };
            let error = match &o.result {
                Result_::Failed { error, .. } => Some(error.clone()),
                Result_::Lost => Some("the worker stopped before finishing (crash or kill)".into()),
                Result_::Interrupted => Some("shutdown came before the job finished".into()),
                Result_::Succeeded => None,
            };
            values.extend([
                Value::from(ids::new("att")),
                o.job_id.as_str().into(),
                o.attempt.into(),
                o.worker.as_str().into(),
                o.started_at.into(),
                o.finished_at.into(),
                o.result.label().into(),
                error.into(),
                reason.into(),
            ]);
        }
        txn.execute_raw(stmt(&txn, &sql, values)).await?;
    }

    // Successes of one worker finish together in one statement.
    let mut by_worker: std::collections::HashMap<&str, Vec<(&str, i32)>> = Default::default();
    for o in batch.iter().filter(|o| o.result == Result_::Succeeded) {
        by_worker
            .entry(&o.worker)
            .or_default()
            .push((&o.job_id, o.attempt));
    }
    for (worker, jobs) in by_worker {
        for chunk in jobs.chunks(250) {
            let which: Vec<String> = (0..chunk.len())
                .map(|i| format!("(id = ${} AND attempts = ${})", 3 + 2 * i, 4 + 2 * i))
                .collect();
            let sql = format!(
                "UPDATE jobs SET status = '{done}', finished_at = $1, updated_at = $1,
                    locked_by = NULL, locked_until = NULL, last_error = NULL, last_reason = NULL
                 WHERE locked_by = $2 AND ({})",
                which.join(" OR "),
                done = status::DONE,
            );
            let mut values: Vec<Value> = vec![now.into(), worker.into()];
            for (id, attempt) in chunk {
                values.push(Value::from(*id));
                values.push(Value::from(*attempt));
            }
            txn.execute_raw(stmt(&txn, &sql, values)).await?;
        }
    }

    for o in batch {
        let (next_status, run_at, error, reason) = match &o.result {
            Result_::Failed {
                error,
                retry_at,
                reason,
                ..
            } => match retry_at {
                Some(at) => (status::QUEUED, *at, error.clone(), Some(reason.as_str())),
                None => (status::DEAD, now, error.clone(), Some(reason.as_str())),
            },
            Result_::Interrupted => (
                status::QUEUED,
                now,
                "shutdown came before the job finished".to_string(),
                None,
            ),
            _ => continue,
        };
        let finished: Option<i64> = (next_status == status::DEAD).then_some(now);
        txn.execute_raw(stmt(
            &txn,
            "UPDATE jobs SET status = $1, run_at = $2, last_error = $3, updated_at = $4,
                finished_at = $5, locked_by = NULL, locked_until = NULL, last_reason = $8
             WHERE id = $6 AND locked_by = $7 AND attempts = $9",
            vec![
                next_status.into(),
                run_at.into(),
                error.into(),
                now.into(),
                finished.into(),
                o.job_id.as_str().into(),
                o.worker.as_str().into(),
                reason.into(),
                o.attempt.into(),
            ],
        ))
        .await?;
    }
    txn.commit().await
}

/// The earliest moment something may become claimable: a queued job's time or a
/// running job's lease end.
pub async fn next_due(db: &DatabaseConnection) -> Result<Option<i64>, DbErr> {
    // Two index lookups (`idx_jobs_due`, `idx_jobs_lease`) rather than one pass over
    // every queued and running job.
    let sql = format!(
        "SELECT (SELECT MIN(run_at) FROM jobs WHERE status = '{queued}') AS queued,
                (SELECT MIN(locked_until) FROM jobs WHERE status = '{running}') AS leased",
        queued = status::QUEUED,
        running = status::RUNNING,
    );
    let Some(row) = db.query_one_raw(stmt(db, &sql, vec![])).await? else {
        return Ok(None);
    };
    let queued: Option<i64> = row.try_get("", "queued")?;
    let leased: Option<i64> = row.try_get("", "leased")?;
    Ok(match (queued, leased) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    })
}

/// Puts a dead (or failed) job back in the queue now, with a fresh attempt budget.
pub async fn retry(
    db: &impl ConnectionTrait,
    id: &str,
    org_id: Option<&str>,
    extra_attempts: i32,
) -> Result<bool, DbErr> {
    let now = super::now_ms();
    let org_filter = if org_id.is_some() {
        "AND organization_id = $5"
    } else {
        ""
    };
    let sql = format!(
        "UPDATE jobs SET status = '{queued}', run_at = $1, updated_at = $1, finished_at = NULL,
            max_attempts = attempts + $2
         WHERE id = $3 AND status IN ('{dead}', $4) {org_filter}",
        queued = status::QUEUED,
        dead = status::DEAD,
    );
    let mut values: Vec<Value> = vec![
        now.into(),
        extra_attempts.into(),
        id.into(),
        status::QUEUED.into(),
    ];
    if let Some(org) = org_id {
        values.push(org.into());
    }
    let res = db.execute_raw(stmt(db, &sql, values)).await?;
    Ok(res.rows_affected() > 0)
}

/// Deletes finished jobs (and, by cascade, their attempts) older than `days`, so the
/// queue's tables do not grow without bound. Dead jobs stay until retried or pruned
/// by hand: someone may still want to look at them.
pub async fn prune_done(db: &impl ConnectionTrait, days: i64) -> Result<u64, DbErr> {
    let cutoff = super::now_ms() - days * 86_400_000;
    let res = db
        .execute_raw(stmt(
            db,
            &format!(
                "DELETE FROM jobs WHERE status = '{}' AND finished_at < $1",
                status::DONE
            ),
            vec![cutoff.into()],
        ))
        .await?;
    Ok(res.rows_affected())
}
