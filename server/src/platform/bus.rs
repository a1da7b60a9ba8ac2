//! In-process fan-out of committed changes (live dashboard) and job wake-ups.
//!
//! On PostgreSQL the signals also travel through LISTEN/NOTIFY, so a change committed by
//! another `hitch serve` reaches this one's dashboards and a job enqueued there wakes
//! workers here. Signals are hints: losing one delays a refresh or a wake-up until the
//! next poll, never loses data (the rows are the truth).
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sea_orm::{DatabaseConnection, DbBackend, sqlx::postgres::PgListener};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, broadcast, mpsc};

use super::clock::now_ms;

/// What the live dashboard hears about: enough to know which page to refresh.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Hash)]
pub struct Change {
    pub org_id: String,
    /// `booking`, `client`, `invoice` or `job`.
    pub entity_kind: String,
    pub entity_id: String,
    /// The event type, or `job.changed`.
    pub event_type: String,
}

enum Signal {
    Change(Change),
    Jobs,
}

#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    changes: broadcast::Sender<Change>,
    /// The last changes heard, stamped with when (ms since the epoch): a page that
    /// subscribes a moment after it was rendered asks for what it missed in between.
    recent: Mutex<VecDeque<(i64, Change)>>,
    jobs: Notify,
    /// Set on PostgreSQL: signals go out through NOTIFY and come back through LISTEN.
    remote: Option<mpsc::UnboundedSender<Signal>>,
}

const CHANGES: &str = "hitch_changes";
/// How many recent changes a hub keeps for late subscribers (a few seconds' worth).
const RECENT: usize = 1024;

const JOBS: &str = "hitch_jobs";

/// Largest NOTIFY payload sent: PostgreSQL refuses one of 8,000 bytes or more.
const NOTIFY_BYTES: usize = 7_000;

fn channel(base: &str, schema: Option<&str>) -> String {
    match schema {
        Some(s) => format!("{base}_{s}"),
        None => base.to_string(),
    }
}

impl Hub {
    /// A hub for this process; on PostgreSQL it also starts the NOTIFY sender and the
    /// LISTEN loop (both reconnect on their own).
    pub fn start(db: &DatabaseConnection, schema: Option<&str>) -> Hub {
        let (changes, _) = broadcast::channel(1024);
        let remote = (db.get_database_backend() == DbBackend::Postgres).then(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            let changes_ch = channel(CHANGES, schema);
            let jobs_ch = channel(JOBS, schema);
            tokio::spawn(notify_loop(
                db.clone(),
                rx,
                changes_ch.clone(),
                jobs_ch.clone(),
            ));
            (tx, changes_ch, jobs_ch)
        });
        let hub = Hub {
            inner: Arc::new(Inner {
                changes,
                recent: Mutex::default(),
                jobs: Notify::new(),
                remote: remote.as_ref().map(|(tx, _, _)| tx.clone()),
            }),
        };
        if let Some((_, changes_ch, jobs_ch)) = remote {
            tokio::spawn(listen_loop(db.clone(), hub.clone(), changes_ch, jobs_ch));
        }
        hub
    }

    /// A hub that only reaches this process (SQLite, unit tests).
    pub fn local() -> Hub {
        let (changes, _) = broadcast::channel(1024);
        Hub {
            inner: Arc::new(Inner {
                changes,
                recent: Mutex::default(),
                jobs: Notify::new(),
                remote: None,
            }),
        }
    }

    /// Announces a committed change to live pages (here and, on PostgreSQL, elsewhere).
    pub fn change(&self, change: Change) {
        match &self.inner.remote {
            Some(tx) => {
                let _ = tx.send(Signal::Change(change));
            }
            None => self.fan_out(change),
        }
    }

    /// Hands a change to this process's listeners and remembers it for late subscribers.
    fn fan_out(&self, change: Change) {
        if let Ok(mut recent) = self.inner.recent.lock() {
            if recent.len() == RECENT {
                recent.pop_front();
            }
            recent.push_back((now_ms(), change.clone()));
        }
        let _ = self.inner.changes.send(change);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.inner.changes.subscribe()
    }

    /// The changes for `org_id` heard at or after `since` (ms since the epoch). When
    /// some of that time has already dropped out of the buffer, a wildcard change
    /// (kind `*`) stands for whatever was lost.
    pub fn since(&self, since: i64, org_id: &str) -> Vec<Change> {
        let Ok(recent) = self.inner.recent.lock() else {
            return Vec::new();
        };
        let lost = recent.len() == RECENT && recent.front().is_some_and(|(t, _)| *t > since);
        let wildcard = lost.then(|| Change {
            org_id: org_id.into(),
            entity_kind: "*".into(),
            entity_id: String::new(),
            event_type: "changes.lost".into(),
        });
        wildcard
            .into_iter()
            .chain(
                recent
                    .iter()
                    .filter(|(t, c)| *t >= since && (c.org_id == org_id || c.org_id.is_empty()))
                    .map(|(_, c)| c.clone()),
            )
            .collect()
    }

    /// Tells workers (here and, on PostgreSQL, in other processes) that jobs are due.
    pub fn jobs_enqueued(&self) {
        self.inner.jobs.notify_waiters();
        self.inner.jobs.notify_one();
        if let Some(tx) = &self.inner.remote {
            let _ = tx.send(Signal::Jobs);
        }
    }

    /// Resolves at the next `jobs_enqueued` (a permit is kept if nobody was waiting).
    pub async fn jobs_wakeup(&self) {
        self.inner.jobs.notified().await
    }

    /// Wakes this process's workers only (a job here finished and freed a slot).
    pub fn wake_local_workers(&self) {
        self.inner.jobs.notify_one();
        self.inner.jobs.notify_waiters();
    }
}

/// Sends queued signals as NOTIFYs: the changes waiting at one moment go together, as
/// JSON arrays of at most [`NOTIFY_BYTES`], repeats dropped, and job wake-ups become one.
/// (A NOTIFY per change cost a round trip and a commit each, one per webhook delivery.)
async fn notify_loop(
    db: DatabaseConnection,
    mut rx: mpsc::UnboundedReceiver<Signal>,
    changes_ch: String,
    jobs_ch: String,
) {
    let pool = db.get_postgres_connection_pool().clone();
    let mut batch = Vec::with_capacity(1024);
    while rx.recv_many(&mut batch, 1024).await > 0 {
        let mut wake_jobs = false;
        let mut changes = Vec::new();
        for signal in batch.drain(..) {
            match signal {
                Signal::Jobs => wake_jobs = true,
                Signal::Change(c) => changes.push(c),
            }
        }
        for payload in notify_payloads(changes) {
            if let Err(e) = sea_orm::sqlx::query("SELECT pg_notify($1, $2)")
                .bind(&changes_ch)
                .bind(payload)
                .execute(&pool)
                .await
            {
                tracing::warn!(error = %e, "could not send a change notification");
            }
        }
        if wake_jobs
            && let Err(e) = sea_orm::sqlx::query("SELECT pg_notify($1, '')")
                .bind(&jobs_ch)
                .execute(&pool)
                .await
        {
            tracing::warn!(error = %e, "could not send a job wake-up");
        }
    }
}

/// Packs changes into JSON arrays of at most [`NOTIFY_BYTES`] each, repeats dropped.
fn notify_payloads(changes: Vec<Change>) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut cur = String::from("[");
    for c in changes {
        if !seen.insert(c.clone()) {
            continue;
        }
        let Ok(one) = serde_json::to_string(&c) else {
            continue;
        };
        if one.len() + 2 > NOTIFY_BYTES {
            continue; // ids and org ids are short; a change this long is not ours
        }
        if cur.len() + one.len() + 2 > NOTIFY_BYTES {
            cur.push(']');
            out.push(std::mem::replace(&mut cur, String::from("[")));
        }
        if cur.len() > 1 {
            cur.push(',');
        }
        cur.push_str(&one);
    }
    if cur.len() > 1 {
        cur.push(']');
        out.push(cur);
    }
    out
}

/// The changes a NOTIFY carries: an array, or one change from a server of an earlier
/// version during a rolling upgrade.
fn notified_changes(payload: &str) -> Vec<Change> {
    serde_json::from_str::<Vec<Change>>(payload)
        .or_else(|_| serde_json::from_str::<Change>(payload).map(|c| vec![c]))
        .unwrap_or_default()
}

/// Receives NOTIFYs (our own included) and fans them out in this process.
async fn listen_loop(db: DatabaseConnection, hub: Hub, changes_ch: String, jobs_ch: String) {
    let pool = db.get_postgres_connection_pool().clone();
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "LISTEN connection failed; retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        if let Err(e) = listener
            .listen_all([changes_ch.as_str(), jobs_ch.as_str()])
            .await
        {
            tracing::warn!(error = %e, "LISTEN failed; retrying");
            tokio::time::sleep(Duration::from_secs(2)).await;
            continue;
        }
        loop {
            match listener.recv().await {
                Ok(n) if n.channel() == jobs_ch => hub.wake_local_workers(),
                Ok(n) => {
                    for c in notified_changes(n.payload()) {
                        hub.fan_out(c);
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "LISTEN connection lost; reconnecting");
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(org: &str, id: &str) -> Change {
        Change {
            org_id: org.into(),
            entity_kind: "booking".into(),
            entity_id: id.into(),
            event_type: "booking.created".into(),
        }
    }

    #[test]
    fn since_returns_the_organizations_changes_from_that_moment() {
        let hub = Hub::local();
        hub.change(change("org_a", "bk_old"));
        std::thread::sleep(Duration::from_millis(5));
        let t = now_ms();
        hub.change(change("org_a", "bk_new"));
        hub.change(change("org_b", "bk_other"));
        let ids: Vec<_> = hub
            .since(t, "org_a")
            .into_iter()
            .map(|c| c.entity_id)
            .collect();
        assert_eq!(ids, ["bk_new"]);
        assert!(hub.since(now_ms() + 1, "org_a").is_empty());
    }

    #[test]
    fn notifications_carry_each_change_once_within_postgres_payload_limit() {
        let mut changes: Vec<Change> = (0..400)
            .map(|i| change("org_a", &format!("whd_{i:026}")))
            .collect();
        changes.push(change("org_a", "whd_00000000000000000000000000"));
        let payloads = notify_payloads(changes);
        assert!(payloads.len() > 1, "400 changes do not fit one NOTIFY");
        let mut ids = Vec::new();
        for p in &payloads {
            assert!(
                p.len() < 8_000,
                "PostgreSQL refuses a payload of {} bytes",
                p.len()
            );
            ids.extend(notified_changes(p).into_iter().map(|c| c.entity_id));
        }
        assert_eq!(ids.len(), 400, "every change once, the repeat dropped");
        assert_eq!(ids[399], format!("whd_{:026}", 399));
        // A server of the earlier version sends one change per NOTIFY.
        let old = serde_json::to_string(&change("org_b", "bk_1")).unwrap();
        assert_eq!(notified_changes(&old)[0].entity_id, "bk_1");
        assert!(notified_changes("not json").is_empty());
    }

    #[test]
    fn since_says_so_when_the_buffer_no_longer_reaches_back() {
        let hub = Hub::local();
        let t = now_ms();
        hub.change(change("org_a", "bk_first"));
        std::thread::sleep(Duration::from_millis(5));
        for i in 0..RECENT {
            hub.change(change("org_b", &format!("bk_{i}")));
        }
        let missed = hub.since(t, "org_a");
        assert_eq!(missed.len(), 1, "only the wildcard: bk_first fell out");
        assert_eq!(missed[0].entity_kind, "*");
        assert_eq!(missed[0].org_id, "org_a");
    }
}
