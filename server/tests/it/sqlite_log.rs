//! SQLite's write-ahead log: the server copies it into the database file in the
//! background, so no request's commit does, and the log starts over even while writes
//! never stop. PostgreSQL has no such log to keep; these tests return at once there.
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use server::db::RESTART_AFTER_FRAMES;

use crate::support::TestApp;

/// Column `col` of the first row `sql` answers, as an integer.
async fn pragma(app: &TestApp, sql: &str, col: usize) -> i64 {
    let row = app
        .db
        .query_one_raw(Statement::from_string(DbBackend::Sqlite, sql.to_string()))
        .await
        .expect("pragma")
        .expect("row");
    row.try_get_by_index::<i64>(col).expect("integer")
}

fn file_size(app: &TestApp, suffix: &str) -> u64 {
    let path = server::db::sqlite_file(&app.config.database_url).expect("a SQLite file");
    std::fs::metadata(format!("{path}{suffix}")).map_or(0, |m| m.len())
}

#[tokio::test]
async fn the_log_is_checkpointed_in_the_background_and_restarts_under_steady_writes() {
    let Some(app) = TestApp::spawn().await else {
        return;
    };
    if app.is_postgres() {
        return;
    }
    assert_eq!(
        pragma(&app, "PRAGMA wal_autocheckpoint", 0).await,
        0,
        "commits leave checkpoints to the server"
    );
    app.exec("CREATE TABLE log_probe (id INTEGER PRIMARY KEY, pad TEXT NOT NULL)")
        .await;
    let before = file_size(&app, "");

    // One small transaction after another through the gate, as the job runner and the
    // Stripe intake write, until the log has been filled several times over.
    let gate = app.platform.write_gate.clone();
    let started = Instant::now();
    let mut commits = 0;
    while commits < 6 * RESTART_AFTER_FRAMES && started.elapsed() < Duration::from_secs(60) {
        let _turn = gate.enter().await;
        app.exec(&format!(
            "INSERT INTO log_probe (pad) VALUES ('{}')",
            "x".repeat(1500)
        ))
        .await;
        commits += 1;
    }
    assert!(
        commits >= 6 * RESTART_AFTER_FRAMES,
        "wrote only {commits} commits"
    );
    // The rows reach the database file itself, with no commit having copied them.
    let rows_bytes = commits as u64 * 1500;
    let deadline = Instant::now() + Duration::from_secs(10);
    while file_size(&app, "") < before + rows_bytes {
        assert!(
            Instant::now() < deadline,
            "database file {} bytes, log {} bytes: not checkpointed",
            file_size(&app, ""),
            file_size(&app, "-wal")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Every commit added at least one frame. A log that never restarted would hold
    // them all; this one holds only what came after its last restart. (A checkpoint
    // answers busy, frames in the log, frames copied; only a writer restarts it.)
    let frames = pragma(&app, "PRAGMA wal_checkpoint(PASSIVE)", 1).await;
    assert!(
        frames < commits / 2,
        "the log holds {frames} frames after {commits} commits: it did not restart"
    );
    assert_eq!(app.count("log_probe").await, commits);
}
