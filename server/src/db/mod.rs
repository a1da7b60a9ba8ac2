//! Database connection: SQLite by default, PostgreSQL when the URL says so.
pub mod audit;
pub mod entities;
pub mod org;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use tokio::sync::{Mutex, Notify, OwnedMutexGuard};

/// Opens the pool. `schema` puts PostgreSQL tables in their own schema (tests use a
/// fresh one each); SQLite files get WAL so readers never wait for the writer.
pub async fn connect(
    url: &str,
    max_connections: u32,
    schema: Option<&str>,
) -> Result<DatabaseConnection, DbErr> {
    if let Some(path) = sqlite_file(url)
        && let Some(dir) = std::path::Path::new(&path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", dir.display())))?;
    }
    let mut opts = ConnectOptions::new(url.to_string());
    opts.max_connections(max_connections)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        // The default pings every connection on every checkout: one extra round trip per
        // query. A connection that was in use a moment ago needs no proof of life.
        .test_before_acquire_if_idle_for(Duration::from_secs(30))
        .sqlx_logging(false)
        // Per-connection settings belong in the connect options: a PRAGMA run once after
        // connecting reaches only one connection of the pool. WAL lets readers go on
        // while one writer commits; NORMAL skips the fsync per commit that WAL makes
        // unnecessary for consistency (a power cut may lose the last commits, never
        // corrupt the file). No commit checkpoints the WAL: `spawn_checkpointer` does.
        .map_sqlx_sqlite_opts(|o| {
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                .pragma("wal_autocheckpoint", "0")
                // After a burst, the log file is cut back to 64 MB when it restarts.
                .pragma("journal_size_limit", "67108864")
        });
    if let Some(schema) = schema {
        opts.set_schema_search_path(schema.to_string());
    }
    Database::connect(opts).await
}

/// The file path of a `sqlite:` URL, if it names a file.
pub fn sqlite_file(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| path.to_string())
}

/// Begins a transaction that is going to write. On SQLite it takes the write lock at
/// once (`BEGIN IMMEDIATE`), waiting in the busy handler while another connection
/// writes. A deferred transaction that reads first cannot start writing once another
/// connection has committed after its read: SQLite refuses it with SQLITE_BUSY at once,
/// and no waiting helps. PostgreSQL ignores the mode.
pub async fn begin_write<C>(conn: &C) -> Result<DatabaseTransaction, DbErr>
where
    C: TransactionTrait<Transaction = DatabaseTransaction>,
{
    conn.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.ping().await
}

/// How often the server copies SQLite's write-ahead log into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);
/// A log this long (16 MB of 4 KB pages) has not restarted since the last quiet moment.
pub const RESTART_AFTER_FRAMES: i64 = 4096;

/// On SQLite, checkpoints the WAL every [`CHECKPOINT_EVERY`] until `stop`, so that no
/// commit has to: with `synchronous = NORMAL` the checkpoint is the only fsync, and
/// SQLite's own (in the commit that passes 1000 pages) put 5–9 ms on whichever request
/// made it. A PASSIVE checkpoint waits for nobody while writers go on appending.
///
/// Under a steady stream of writes that is not enough: a log restarts from its start
/// only when a checkpoint has copied all of it, so it grew by the gigabyte. When the
/// log is over [`RESTART_AFTER_FRAMES`], a second checkpoint runs in a background
/// writer's turn at the [`WriteGate`], with nobody appending; it has only the last
/// moments to copy, and the next writer starts the log over. Nothing to do on
/// PostgreSQL.
pub fn spawn_checkpointer(
    db: DatabaseConnection,
    gate: WriteGate,
    stop: tokio_util::sync::CancellationToken,
) {
    if db.get_database_backend() != sea_orm::DbBackend::Sqlite {
        return;
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            let frames = match checkpoint(&db).await {
                Ok(frames) => frames,
                Err(e) => {
                    tracing::warn!(error = %e, "SQLite checkpoint failed; trying again shortly");
                    continue;
                }
            };
            if frames > RESTART_AFTER_FRAMES {
                let _turn = gate.enter().await;
                if let Err(e) = checkpoint(&db).await {
                    tracing::warn!(error = %e, "SQLite checkpoint failed; trying again shortly");
                }
            }
        }
    });
}

/// A PASSIVE checkpoint; answers how many frames the log holds.
async fn checkpoint(db: &DatabaseConnection) -> Result<i64, DbErr> {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let pragma = Statement::from_string(DbBackend::Sqlite, "PRAGMA wal_checkpoint(PASSIVE)");
    let row = db.query_one_raw(pragma).await?;
    // Its columns: busy, frames in the log, frames copied.
    Ok(row
        .and_then(|r| r.try_get_by_index::<i64>(1).ok())
        .unwrap_or(0))
}

/// SQLite lets one connection write at a time. A second writer gets SQLITE_BUSY and
/// sleeps in SQLite's busy handler (1, 2, 5, 10 … ms) before it tries again, which put
/// 100 ms and more on the Stripe webhook's p99 while the job runner wrote alongside.
/// The busiest writers (the Stripe intake, job claims and outcomes, Stripe event
/// handling) queue here first, so they take turns without sleeping. Other writers still
/// rely on the busy timeout. PostgreSQL needs no gate: it has no database-wide write
/// lock.
///
/// Two lanes: a writer someone is waiting on (Stripe's webhook request) enters with
/// [`WriteGate::enter_first`] and goes before every background writer that has not
/// reached the lock yet. Background writers reach it one at a time, so the webhook
/// waits for at most the turn in progress and one more.
#[derive(Clone, Default)]
pub struct WriteGate(Option<Arc<Lanes>>);

#[derive(Default)]
struct Lanes {
    lock: Arc<Mutex<()>>,
    /// Background writers line up here before they may queue for `lock`.
    background: Mutex<()>,
    /// Writers in the first lane that have not got the lock yet.
    first_waiting: AtomicUsize,
    first_done: Notify,
}

/// A turn at writing; it ends when dropped. `None` on PostgreSQL.
pub type Turn = Option<OwnedMutexGuard<()>>;

impl WriteGate {
    pub fn for_db(db: &DatabaseConnection) -> WriteGate {
        match db.get_database_backend() {
            sea_orm::DbBackend::Sqlite => WriteGate(Some(Default::default())),
            _ => WriteGate(None),
        }
    }

    /// Waits for a background writer's turn: after any first-lane writer waiting.
    pub async fn enter(&self) -> Turn {
        let lanes = self.0.as_ref()?;
        let _in_line = lanes.background.lock().await;
        loop {
            // Registered before the check, so a wake-up between the two is not lost.
            let done = lanes.first_done.notified();
            if lanes.first_waiting.load(Ordering::Acquire) == 0 {
                break;
            }
            done.await;
        }
        Some(lanes.lock.clone().lock_owned().await)
    }

    /// Waits for a turn ahead of the background writers.
    pub async fn enter_first(&self) -> Turn {
        let lanes = self.0.as_ref()?;
        lanes.first_waiting.fetch_add(1, Ordering::AcqRel);
        let turn = lanes.lock.clone().lock_owned().await;
        if lanes.first_waiting.fetch_sub(1, Ordering::AcqRel) == 1 {
            lanes.first_done.notify_waiters();
        }
        Some(turn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn gate() -> WriteGate {
        WriteGate(Some(Default::default()))
    }

    /// While one writer holds the gate and background writers wait, a first-lane writer
    /// is next.
    #[tokio::test]
    async fn a_first_lane_writer_goes_before_waiting_background_writers() {
        let gate = gate();
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let held = gate.enter().await;
        let mut waiting = Vec::new();
        for n in 0..3 {
            let (gate, order) = (gate.clone(), order.clone());
            waiting.push(tokio::spawn(async move {
                let _t = gate.enter().await;
                order.lock().unwrap().push(format!("background {n}"));
            }));
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let first = {
            let (gate, order) = (gate.clone(), order.clone());
            tokio::spawn(async move {
                let _t = gate.enter_first().await;
                order.lock().unwrap().push("first".to_string());
            })
        };
        tokio::time::sleep(Duration::from_millis(5)).await;
        drop(held);
        first.await.unwrap();
        for w in waiting {
            w.await.unwrap();
        }
        let order = order.lock().unwrap().clone();
        // Background 0 had already reached the lock; the others waited for "first".
        assert_eq!(
            order,
            ["background 0", "first", "background 1", "background 2"]
        );
    }

    #[tokio::test]
    async fn turns_never_overlap() {
        let gate = gate();
        let inside = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for n in 0..40 {
            let (gate, inside) = (gate.clone(), inside.clone());
            tasks.push(tokio::spawn(async move {
                let _t = if n % 3 == 0 {
                    gate.enter_first().await
                } else {
                    gate.enter().await
                };
                assert_eq!(
                    inside.fetch_add(1, Ordering::SeqCst),
                    0,
                    "two writers at once"
                );
                tokio::task::yield_now().await;
                inside.fetch_sub(1, Ordering::SeqCst);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    }

    #[tokio::test]
    async fn postgres_has_no_gate() {
        assert!(WriteGate(None).enter().await.is_none());
        assert!(WriteGate(None).enter_first().await.is_none());
    }
}
