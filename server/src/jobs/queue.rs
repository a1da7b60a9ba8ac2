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

/// Claims up to `limit` due jobs for `worker`: queued jobs whose time has come, and
/// running jobs whose lease expired (their worker died). Each concurrency key gets at
/// most its free slots (its limit, from `job_key_limits` when set there, less what
/// runs), ranked within the key, so one claim never takes more of a key than it may
/// run and a busy key's backlog does not crowd out the others.
pub async fn claim(
    db: &DatabaseConnection,
    worker: &str,
    now: i64,
    limit: usize,
) -> Result<Vec<Claimed>, DbErr> {
    let lock = match db.get_database_backend() {
        DbBackend::Postgres => "FOR UPDATE SKIP LOCKED",
        _ => "",
    };
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
    // Assignments read the old row, so lost_* capture the previous claim if it expired.
    // The outer select re-checks the state under the row lock (PostgreSQL re-evaluates
    // it for a row another worker changed meanwhile); window functions cannot take
    // `FOR UPDATE` themselves.
    let due = |t: &str| {
        format!(
            "(({t}.status = '{queued}' AND {t}.run_at <= $2)
              OR ({t}.status = '{running}' AND {t}.locked_until < $2
                  AND {t}.attempts < {t}.max_attempts))",
            queued = status::QUEUED,
            running = status::RUNNING,
        )
    };
    let sql = format!(
        "UPDATE jobs SET
            status = '{running}',
            attempts = attempts + 1,
            lost_by = CASE WHEN status = '{running}' THEN locked_by ELSE NULL END,
            lost_at = CASE WHEN status = '{running}' THEN locked_at ELSE NULL END,
            locked_by = $1, locked_at = $2, locked_until = $2 + lease_ms, updated_at = $2
         WHERE id IN (
            SELECT c.id FROM jobs c
            WHERE c.id IN (
                SELECT d.id FROM (
                    SELECT j.id, j.run_at, j.concurrency_key,
                        COALESCE(kl.max_running, j.concurrency_limit) AS key_limit,
                        ROW_NUMBER() OVER (PARTITION BY j.concurrency_key
                                           ORDER BY j.run_at, j.id) AS rank_in_key
                    FROM jobs j
                    LEFT JOIN job_key_limits kl ON kl.key = j.concurrency_key
                    WHERE {due_j}) d
                LEFT JOIN (
                    SELECT concurrency_key, COUNT(*) AS n FROM jobs
                    WHERE status = '{running}' AND locked_until >= $2
                      AND concurrency_key IS NOT NULL
                    GROUP BY concurrency_key) r ON r.concurrency_key = d.concurrency_key
                WHERE d.concurrency_key IS NULL
                   OR d.rank_in_key <= d.key_limit - COALESCE(r.n, 0)
                ORDER BY d.run_at
                LIMIT $3)
              AND {due_c}
            {lock})
         RETURNING id, kind, organization_id, payload, attempts, max_attempts,
                   concurrency_key, concurrency_limit, lost_by, lost_at",
        running = status::RUNNING,
        due_j = due("j"),
        due_c = due("c"),
    );
    let rows = db
        .query_all_raw(stmt(
            db,
            &sql,
            vec![worker.into(), now.into(), (limit as i64).into()],
        ))
        .await?;
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
    let sql = format!(
        "SELECT MIN(CASE WHEN status = '{queued}' THEN run_at ELSE locked_until END) AS due
         FROM jobs WHERE status IN ('{queued}', '{running}')",
        queued = status::QUEUED,
        running = status::RUNNING,
    );
    let row = db.query_one_raw(stmt(db, &sql, vec![])).await?;
    Ok(match row {
        Some(r) => r.try_get("", "due")?,
        None => None,
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
