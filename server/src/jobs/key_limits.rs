//! A concurrency key's limit set at run time, overriding the one each queued job
//! carries: the claim reads it, so a change reaches jobs already waiting. The reason
//! for the last cut is kept beside it for the page that shows the limit.
use sea_orm::{ConnectionTrait, DbErr};

use crate::platform::now_ms;
use crate::platform::sql::stmt;

#[derive(Clone, Debug, PartialEq)]
pub struct KeyLimit {
    pub max_running: i32,
    /// Why the limit last went down, and when (ms).
    pub reason: Option<(String, i64)>,
}

/// Sets the key's limit; a `reason` records a cut (none keeps the last one on record).
pub async fn set(
    db: &impl ConnectionTrait,
    key: &str,
    max_running: i32,
    reason: Option<&str>,
) -> Result<(), DbErr> {
    let now = now_ms();
    db.execute_raw(stmt(
        db,
        "INSERT INTO job_key_limits (key, max_running, reason, reason_at, updated_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (key) DO UPDATE SET
            max_running = excluded.max_running,
            reason = COALESCE(excluded.reason, job_key_limits.reason),
            reason_at = COALESCE(excluded.reason_at, job_key_limits.reason_at),
            updated_at = excluded.updated_at",
        vec![
            key.into(),
            max_running.max(1).into(),
            reason.map(str::to_string).into(),
            reason.map(|_| now).into(),
            now.into(),
        ],
    ))
    .await?;
    Ok(())
}

pub async fn get(db: &impl ConnectionTrait, key: &str) -> Result<Option<KeyLimit>, DbErr> {
    let row = db
        .query_one_raw(stmt(
            db,
            "SELECT max_running, reason, reason_at FROM job_key_limits WHERE key = $1",
            vec![key.into()],
        ))
        .await?;
    let Some(r) = row else { return Ok(None) };
    let reason: Option<String> = r.try_get("", "reason")?;
    let reason_at: Option<i64> = r.try_get("", "reason_at")?;
    Ok(Some(KeyLimit {
        max_running: r.try_get("", "max_running")?,
        reason: reason.zip(reason_at),
    }))
}

/// Forgets a key (its owner is gone).
pub async fn remove(db: &impl ConnectionTrait, key: &str) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "DELETE FROM job_key_limits WHERE key = $1",
        vec![key.into()],
    ))
    .await?;
    Ok(())
}
