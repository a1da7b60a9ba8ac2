//! Limits kept in PostgreSQL, so every `hitch serve` on one database draws on the same
//! allowance (two instances behind a load balancer must not double it, and a restart
//! must not forget it). Each check is one statement: the row lock makes the check and
//! the count a single step across processes.
//!
//! Keys are stored as `<limit>:<sha256 of the key>`: the table holds no address or
//! email in the clear.
use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement, Value};

use super::hash::sha256_hex;
use super::now_ms;

/// The stored key for `key` under the limit called `limit`.
pub fn row_key(limit: &str, key: &str) -> String {
    format!("{limit}:{}", sha256_hex(key))
}

fn stmt(sql: &str, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn left(expires_at: i64, now: i64) -> Duration {
    Duration::from_millis(u64::try_from(expires_at - now).unwrap_or(0))
}

/// Adds one to `$1`'s count, starting a new window (now `$2`, `$3` ms long) when its
/// last one is over.
const COUNT_ONE: &str = "INSERT INTO failure_counts (key, count, expires_at) \
     VALUES ($1, 1, $2 + $3) \
     ON CONFLICT (key) DO UPDATE SET \
       count = CASE WHEN failure_counts.expires_at <= $2 THEN 1 \
               ELSE failure_counts.count + 1 END, \
       expires_at = CASE WHEN failure_counts.expires_at <= $2 THEN $2 + $3 \
                    ELSE failure_counts.expires_at END";

/// Counts one attempt for `key` unless it already has `max` in its window, in which
/// case it says how long the window still runs. A key whose window is over starts a
/// new one.
pub async fn count_attempt(
    db: &DatabaseConnection,
    key: &str,
    max: u32,
    window: Duration,
) -> Result<Result<(), Duration>, DbErr> {
    let now = now_ms();
    let counted = db
        .query_one_raw(stmt(
            &format!(
                "{COUNT_ONE} WHERE failure_counts.expires_at <= $2 \
                 OR failure_counts.count < $4 RETURNING count"
            ),
            vec![
                key.into(),
                now.into(),
                millis(window).into(),
                i64::from(max).into(),
            ],
        ))
        .await?;
    if counted.is_some() {
        return Ok(Ok(()));
    }
    let expires_at = expiry(db, key).await?.unwrap_or(now);
    Ok(Err(left(expires_at, now)))
}

/// Counts a failure for `key`, whatever its count.
pub async fn count_failure(
    db: &DatabaseConnection,
    key: &str,
    window: Duration,
) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        COUNT_ONE,
        vec![key.into(), now_ms().into(), millis(window).into()],
    ))
    .await
    .map(|_| ())
}

/// How long `key` must still wait, when it has `max` failures in a running window.
pub async fn wait(db: &DatabaseConnection, key: &str, max: u32) -> Result<Option<Duration>, DbErr> {
    let now = now_ms();
    let row = db
        .query_one_raw(stmt(
            "SELECT expires_at FROM failure_counts \
             WHERE key = $1 AND count >= $2 AND expires_at > $3",
            vec![key.into(), i64::from(max).into(), now.into()],
        ))
        .await?;
    Ok(match row {
        Some(r) => Some(left(r.try_get::<i64>("", "expires_at")?, now)),
        None => None,
    })
}

/// Takes back one counted attempt (it succeeded).
pub async fn forgive(db: &DatabaseConnection, key: &str) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        "UPDATE failure_counts SET count = GREATEST(count - 1, 0) \
         WHERE key = $1 AND expires_at > $2",
        vec![key.into(), now_ms().into()],
    ))
    .await
    .map(|_| ())
}

/// Forgets every failure of `key`.
pub async fn clear(db: &DatabaseConnection, key: &str) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        "DELETE FROM failure_counts WHERE key = $1",
        vec![key.into()],
    ))
    .await
    .map(|_| ())
}

async fn expiry(db: &DatabaseConnection, key: &str) -> Result<Option<i64>, DbErr> {
    let row = db
        .query_one_raw(stmt(
            "SELECT expires_at FROM failure_counts WHERE key = $1",
            vec![key.into()],
        ))
        .await?;
    row.map(|r| r.try_get::<i64>("", "expires_at")).transpose()
}

/// Takes a send slot for `key` at `per_second` with bursts of `per_second` (the
/// generic cell rate algorithm, as `governor` does in memory), or says how long until
/// the next slot frees up.
pub async fn take_slot(
    db: &DatabaseConnection,
    key: &str,
    per_second: u32,
) -> Result<Option<Duration>, DbErr> {
    let per_second = i64::from(per_second.max(1));
    let interval = 1_000_000 / per_second;
    let burst = interval * per_second;
    let now = now_micros();
    let taken = db
        .query_one_raw(stmt(
            "INSERT INTO send_slots (key, next_free) VALUES ($1, $2 + $3) \
             ON CONFLICT (key) DO UPDATE SET \
               next_free = GREATEST(send_slots.next_free, $2) + $3 \
             WHERE GREATEST(send_slots.next_free, $2) + $3 - $2 <= $4 \
             RETURNING next_free",
            vec![key.into(), now.into(), interval.into(), burst.into()],
        ))
        .await?;
    if taken.is_some() {
        return Ok(None);
    }
    let row = db
        .query_one_raw(stmt(
            "SELECT next_free FROM send_slots WHERE key = $1",
            vec![key.into()],
        ))
        .await?;
    let next_free = match row {
        Some(r) => r.try_get::<i64>("", "next_free")?,
        None => now,
    };
    let wait = next_free.max(now) + interval - burst - now;
    Ok(Some(Duration::from_micros(
        u64::try_from(wait).unwrap_or(0).max(1000),
    )))
}

fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// Deletes counts whose window is over and slots unused for an hour.
pub async fn sweep(db: &DatabaseConnection) -> Result<u64, DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(0);
    }
    let now = now_ms();
    let counts = db
        .execute_raw(stmt(
            "DELETE FROM failure_counts WHERE expires_at < $1",
            vec![now.into()],
        ))
        .await?;
    let slots = db
        .execute_raw(stmt(
            "DELETE FROM send_slots WHERE next_free < $1",
            vec![(now - 3_600_000).saturating_mul(1000).into()],
        ))
        .await?;
    Ok(counts.rows_affected() + slots.rows_affected())
}
