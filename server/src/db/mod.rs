//! Database connection: SQLite by default, PostgreSQL when the URL says so.
pub mod entities;

use std::time::Duration;

use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

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
        // corrupt the file).
        .map_sqlx_sqlite_opts(|o| {
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
        });
    if let Some(schema) = schema {
        opts.set_schema_search_path(schema.to_string());
    }
    Database::connect(opts).await
}

/// The file path of a `sqlite:` URL, if it names a file.
fn sqlite_file(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| path.to_string())
}

pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.ping().await
}

/// SQLite lets one connection write at a time. A second writer gets SQLITE_BUSY and
/// sleeps in SQLite's busy handler (1, 2, 5, 10 … ms) before it tries again, which put
/// 100 ms and more on the Stripe webhook's p99 while the job runner wrote alongside.
/// The busiest writers (the Stripe intake, job claims and outcomes, Stripe event
/// handling) queue here first, in arrival order, so they take turns without sleeping.
/// Other writers still rely on the busy timeout. PostgreSQL needs no gate: it has no
/// database-wide write lock.
#[derive(Clone, Default)]
pub struct WriteGate(Option<std::sync::Arc<tokio::sync::Mutex<()>>>);

impl WriteGate {
    pub fn for_db(db: &DatabaseConnection) -> WriteGate {
        match db.get_database_backend() {
            sea_orm::DbBackend::Sqlite => WriteGate(Some(Default::default())),
            _ => WriteGate(None),
        }
    }

    /// Waits for this process's turn to write; the turn ends when the guard drops.
    pub async fn enter(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match &self.0 {
            Some(m) => Some(m.clone().lock_owned().await),
            None => None,
        }
    }
}
