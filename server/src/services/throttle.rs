//! Failure counting for the two doors an outsider can knock on: guessed guest links
//! and wrong passwords. Only failures count, so a guest or a manager who gets it right
//! is never slowed; once a key has used up its failures it waits out the window that
//! began with its first one. On PostgreSQL the counts are shared by every server
//! process ([`crate::platform::shared_limits`]); on SQLite (one process) they live in
//! memory. A database error lets the attempt through: the limit slows guessing, it is
//! not what keeps a password secret.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::{DatabaseConnection, DbBackend, DbErr};

use crate::platform::shared_limits as shared;

/// Keys tracked before expired ones are swept, so a flood of addresses cannot grow the
/// map without bound.
const SWEEP_ABOVE: usize = 10_000;

#[derive(Clone)]
pub struct FailureLimit {
    max: u32,
    window: Duration,
    store: Store,
}

#[derive(Clone)]
enum Store {
    Memory(Arc<Mutex<HashMap<String, (Instant, u32)>>>),
    Shared {
        db: DatabaseConnection,
        name: &'static str,
    },
}

fn allow_on_error<T>(r: Result<T, DbErr>, or: T) -> T {
    r.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "shared failure count unavailable");
        or
    })
}

impl FailureLimit {
    /// `max` failures per key within `window`, counted in this process.
    pub fn new(max: u32, window: Duration) -> Self {
        Self {
            max,
            window,
            store: Store::Memory(Arc::default()),
        }
    }

    /// Like [`FailureLimit::new`], shared through the database on PostgreSQL. `name`
    /// keeps this limit's keys apart from other limits' in the shared table.
    pub fn for_db(db: &DatabaseConnection, name: &'static str, max: u32, window: Duration) -> Self {
        let mut limit = Self::new(max, window);
        if db.get_database_backend() == DbBackend::Postgres {
            limit.store = Store::Shared {
                db: db.clone(),
                name,
            };
        }
        limit
    }

    /// How long `key` must still wait, when it has used up its failures.
    pub async fn wait(&self, key: &str) -> Option<Duration> {
        match &self.store {
            Store::Memory(seen) => {
                let map = seen.lock().ok()?;
                let (since, n) = map.get(key)?;
                let left = self.window.checked_sub(since.elapsed())?;
                (*n >= self.max && !left.is_zero()).then_some(left)
            }
            Store::Shared { db, name } => allow_on_error(
                shared::wait(db, &shared::row_key(name, key), self.max).await,
                None,
            ),
        }
    }

    pub async fn failed(&self, key: &str) {
        match &self.store {
            Store::Memory(seen) => {
                if let Ok(mut map) = seen.lock() {
                    let e = self.current(&mut map, key);
                    e.1 = e.1.saturating_add(1);
                }
            }
            Store::Shared { db, name } => allow_on_error(
                shared::count_failure(db, &shared::row_key(name, key), self.window).await,
                (),
            ),
        }
    }

    /// `key`'s count in the current window (a new one once its window is over),
    /// sweeping expired keys when the map has grown large.
    fn current<'m>(
        &self,
        map: &'m mut HashMap<String, (Instant, u32)>,
        key: &str,
    ) -> &'m mut (Instant, u32) {
        if map.len() > SWEEP_ABOVE {
            let window = self.window;
            map.retain(|_, (since, _)| since.elapsed() < window);
        }
        let e = map.entry(key.to_string()).or_insert((Instant::now(), 0));
        if e.0.elapsed() >= self.window {
            *e = (Instant::now(), 0);
        }
        e
    }

    /// Counts an attempt as a failure before it is made, unless `key` must wait: the
    /// check and the count are one step, so many attempts at once cannot all pass the
    /// check before the first of them fails. [`FailureLimit::forgive`] takes a
    /// successful one back.
    pub async fn attempt(&self, key: &str) -> Result<(), Duration> {
        self.attempt_up_to(key, self.max).await
    }

    /// Like [`FailureLimit::attempt`], but only for a key with nothing counted in its
    /// current window: one try, then it waits like any other.
    pub async fn first_attempt(&self, key: &str) -> Result<(), Duration> {
        self.attempt_up_to(key, 1).await
    }

    async fn attempt_up_to(&self, key: &str, max: u32) -> Result<(), Duration> {
        match &self.store {
            Store::Memory(seen) => {
                let Ok(mut map) = seen.lock() else {
                    return Ok(());
                };
                let e = self.current(&mut map, key);
                if e.1 >= max {
                    return Err(self.window.saturating_sub(e.0.elapsed()));
                }
                e.1 += 1;
                Ok(())
            }
            Store::Shared { db, name } => allow_on_error(
                shared::count_attempt(db, &shared::row_key(name, key), max, self.window).await,
                Ok(()),
            ),
        }
    }

    /// Takes back one attempt counted by [`FailureLimit::attempt`] that succeeded.
    pub async fn forgive(&self, key: &str) {
        match &self.store {
            Store::Memory(seen) => {
                if let Ok(mut map) = seen.lock()
                    && let Some(e) = map.get_mut(key)
                {
                    e.1 = e.1.saturating_sub(1);
                }
            }
            Store::Shared { db, name } => {
                allow_on_error(shared::forgive(db, &shared::row_key(name, key)).await, ())
            }
        }
    }

    /// Forgets `key`'s failures (a right password after a typo).
    pub async fn clear(&self, key: &str) {
        match &self.store {
            Store::Memory(seen) => {
                if let Ok(mut map) = seen.lock() {
                    map.remove(key);
                }
            }
            Store::Shared { db, name } => {
                allow_on_error(shared::clear(db, &shared::row_key(name, key)).await, ())
            }
        }
    }
}

/// "3 minutes", rounded up, for a message a person reads.
pub fn minutes(wait: Duration) -> String {
    let m = wait.as_secs().div_ceil(60).max(1);
    if m == 1 {
        "1 minute".into()
    } else {
        format!("{m} minutes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_the_failure_past_the_limit_blocks_and_only_its_key() {
        let limit = FailureLimit::new(3, Duration::from_secs(60));
        limit.failed("a").await;
        limit.failed("a").await;
        assert_eq!(limit.wait("a").await, None);
        limit.failed("a").await;
        let wait = limit.wait("a").await.expect("blocked after 3");
        assert!(wait <= Duration::from_secs(60) && wait > Duration::from_secs(50));
        assert_eq!(limit.wait("b").await, None);
        limit.clear("a").await;
        assert_eq!(limit.wait("a").await, None);
    }

    #[tokio::test]
    async fn attempts_count_until_the_limit_and_a_success_is_taken_back() {
        let limit = FailureLimit::new(2, Duration::from_secs(60));
        assert_eq!(limit.attempt("a").await, Ok(()));
        limit.forgive("a").await;
        assert_eq!(limit.attempt("a").await, Ok(()));
        assert_eq!(limit.attempt("a").await, Ok(()));
        assert!(limit.attempt("a").await.is_err(), "a third attempt waits");
        assert!(limit.wait("a").await.is_some());
        assert_eq!(limit.attempt("b").await, Ok(()));
    }

    #[tokio::test]
    async fn a_first_attempt_passes_once_per_window() {
        let limit = FailureLimit::new(5, Duration::from_secs(60));
        assert_eq!(limit.first_attempt("a").await, Ok(()));
        assert!(limit.first_attempt("a").await.is_err());
        limit.clear("a").await;
        assert_eq!(limit.first_attempt("a").await, Ok(()));
        limit.failed("b").await;
        assert!(limit.first_attempt("b").await.is_err());
    }

    #[tokio::test]
    async fn the_window_ends_the_block() {
        let limit = FailureLimit::new(1, Duration::from_millis(30));
        limit.failed("1").await;
        assert!(limit.wait("1").await.is_some());
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert_eq!(limit.wait("1").await, None);
        // A new failure starts a new window rather than adding to the old one.
        limit.failed("1").await;
        assert!(limit.wait("1").await.is_some());
    }

    #[test]
    fn waits_read_as_whole_minutes() {
        assert_eq!(minutes(Duration::from_secs(5)), "1 minute");
        assert_eq!(minutes(Duration::from_secs(61)), "2 minutes");
        assert_eq!(minutes(Duration::from_secs(900)), "15 minutes");
    }
}
