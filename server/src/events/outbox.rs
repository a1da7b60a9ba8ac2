//! The transactional outbox. A service opens a [`UnitOfWork`], makes its change and
//! emits events on it; each event is stored and handed to every [`Subscriber`] inside
//! the same transaction, so the subscribers' rows (deliveries, jobs) commit or roll
//! back with the change. Committing announces the change to live pages and wakes the
//! job workers: no call site can forget either.
//!
//! The outbox knows subscribers only through the trait; the composition root
//! (`lib.rs`) is the one place that names them.
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use app::model::platform::IntegrationAlert;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait};
use serde_json::Value;

use super::catalog::{self, EventType};
use crate::db::entities::event;
use crate::jobs::{self, NewJob, Registry};
use crate::platform::{Change, Hub, ids};

/// One stored event, as a subscriber sees it inside the event's transaction.
#[derive(Clone, Copy, Debug)]
pub struct EventRecord<'a> {
    pub id: &'a str,
    pub org_id: &'a str,
    pub event_type: EventType,
    pub entity_id: &'a str,
    pub occurred_at: DateTime<Utc>,
    pub data: &'a Value,
}

/// A consumer of domain events (webhooks, notifications, calendars).
#[async_trait]
pub trait Subscriber: Send + Sync {
    fn name(&self) -> &'static str;

    /// Adds the job kinds this consumer runs.
    fn register(&self, jobs: &mut Registry);

    /// Inside the event's transaction: a cheap "anyone listening?" check and a few
    /// inserts, nothing slow (on SQLite the write lock is held). Returns the jobs to
    /// enqueue with the event; each must carry its kind's limits
    /// ([`NewJob::limits`]). Expensive targeting belongs in one job that expands later.
    async fn on_event(
        &self,
        txn: &DatabaseTransaction,
        event: &EventRecord<'_>,
    ) -> Result<Vec<NewJob>, DbErr>;

    /// What an admin of `org_id` must see on every page (this consumer is broken).
    async fn alerts(
        &self,
        db: &DatabaseConnection,
        org_id: &str,
    ) -> Result<Vec<IntegrationAlert>, DbErr>;
}

/// An event written in a unit of work, announced once it has committed.
#[derive(Clone, Debug)]
pub struct Emitted {
    pub id: String,
    pub org_id: String,
    pub event_type: EventType,
    pub entity_id: String,
    /// Jobs the subscribers enqueued for it.
    pub jobs: usize,
}

/// How long the dashboard trusts an organization's alerts without a change notice.
const ALERTS_TTL: Duration = Duration::from_secs(30);

/// The subscribers and the database they write to. Cheap to clone.
#[derive(Clone)]
pub struct Outbox {
    inner: Arc<Inner>,
}

struct Inner {
    db: DatabaseConnection,
    hub: Hub,
    subscribers: Vec<Arc<dyn Subscriber>>,
    /// Alerts per organization, so a page load costs no query while nothing changes.
    alerts: Mutex<HashMap<String, (Instant, Vec<IntegrationAlert>)>>,
}

impl Outbox {
    /// An outbox handing events to `subscribers`, in that order. Must run inside the
    /// tokio runtime: it watches the hub to forget cached alerts.
    pub fn new(db: DatabaseConnection, hub: Hub, subscribers: Vec<Arc<dyn Subscriber>>) -> Outbox {
        let outbox = Outbox {
            inner: Arc::new(Inner {
                db,
                hub,
                subscribers,
                alerts: Mutex::default(),
            }),
        };
        outbox.forget_alerts_on_change();
        outbox
    }

    /// Adds every subscriber's job kinds to `registry`.
    pub fn register(&self, registry: &mut Registry) {
        for s in &self.inner.subscribers {
            s.register(registry);
        }
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.inner.db
    }

    /// A handle that does not keep the outbox alive: for a subscriber's jobs, which
    /// emit events themselves and are owned by the outbox.
    pub fn downgrade(&self) -> WeakOutbox {
        WeakOutbox(Arc::downgrade(&self.inner))
    }

    pub fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    /// Opens a writing transaction (SQLite: `BEGIN IMMEDIATE`).
    pub async fn begin(&self) -> Result<UnitOfWork, DbErr> {
        Ok(UnitOfWork {
            txn: crate::db::begin_write(&self.inner.db).await?,
            outbox: self.clone(),
            emitted: Vec::new(),
            due_now: 0,
        })
    }

    /// Every subscriber's alerts for the organization. A consumer that cannot answer is
    /// logged and left out: a broken banner must not break the page under it.
    pub async fn alerts(&self, org_id: &str) -> Vec<IntegrationAlert> {
        if let Ok(m) = self.inner.alerts.lock()
            && let Some((at, list)) = m.get(org_id)
            && at.elapsed() < ALERTS_TTL
        {
            return list.clone();
        }
        let mut all = Vec::new();
        for s in &self.inner.subscribers {
            match s.alerts(&self.inner.db, org_id).await {
                Ok(list) => all.extend(list),
                Err(e) => {
                    tracing::warn!(consumer = s.name(), error = %e, "could not read alerts");
                    return all;
                }
            }
        }
        if let Ok(mut m) = self.inner.alerts.lock() {
            m.insert(org_id.to_string(), (Instant::now(), all.clone()));
        }
        all
    }

    /// Any committed change of an organization may end or start an alert (an endpoint
    /// enabled, a delivery job that disabled one): forget that organization's answer.
    fn forget_alerts_on_change(&self) {
        let mut rx = self.inner.hub.subscribe();
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            loop {
                let change = rx.recv().await;
                let Some(inner) = weak.upgrade() else { return };
                let Ok(mut m) = inner.alerts.lock() else {
                    return;
                };
                match change {
                    Ok(c) if c.org_id.is_empty() => {}
                    Ok(c) => {
                        m.remove(&c.org_id);
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => m.clear(),
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
    }
}

/// See [`Outbox::downgrade`].
#[derive(Clone, Default)]
pub struct WeakOutbox(Weak<Inner>);

impl WeakOutbox {
    pub fn upgrade(&self) -> Option<Outbox> {
        self.0.upgrade().map(|inner| Outbox { inner })
    }
}

/// One writing transaction with its events. Dropped without [`commit`](Self::commit),
/// it rolls back and announces nothing.
pub struct UnitOfWork {
    txn: DatabaseTransaction,
    outbox: Outbox,
    emitted: Vec<Emitted>,
    /// Jobs due at once: only these wake the workers on commit. A job due later (a
    /// debounced calendar push) is found by the workers' next look at the queue, so
    /// a burst of writes does not send the workers to claim nothing after each one.
    due_now: usize,
}

/// Whether a job is due at once (no later start).
fn due_now(j: &NewJob) -> bool {
    j.run_at.is_none_or(|t| t <= Utc::now())
}

impl UnitOfWork {
    /// The transaction to write the change on.
    pub fn txn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// Stores an event and lets every subscriber add its rows and jobs; an event that
    /// nobody listens to costs its own insert. Returns the event's id.
    pub async fn emit(
        &mut self,
        org_id: &str,
        event_type: EventType,
        entity_id: &str,
        data: Value,
    ) -> Result<String, DbErr> {
        let id = ids::new("evt");
        let occurred_at = Utc::now();
        event::Entity::insert(event::ActiveModel {
            id: Set(id.clone()),
            organization_id: Set(org_id.into()),
            event_type: Set(event_type.as_str().into()),
            schema_version: Set(catalog::SCHEMA_VERSION),
            entity_kind: Set(event_type.entity_kind().into()),
            entity_id: Set(entity_id.into()),
            occurred_at: Set(occurred_at),
            payload: Set(data.to_string()),
        })
        .exec_without_returning(&self.txn)
        .await?;
        let record = EventRecord {
            id: &id,
            org_id,
            event_type,
            entity_id,
            occurred_at,
            data: &data,
        };
        let mut jobs = 0;
        for s in &self.outbox.inner.subscribers {
            let new = s.on_event(&self.txn, &record).await?;
            self.due_now += new.iter().filter(|j| due_now(j)).count();
            jobs += jobs::insert(&self.txn, &new).await?.len();
        }
        self.emitted.push(Emitted {
            id: id.clone(),
            org_id: org_id.into(),
            event_type,
            entity_id: entity_id.into(),
            jobs,
        });
        Ok(id)
    }

    /// Enqueues jobs with the change; the workers wake when it commits.
    pub async fn enqueue(&mut self, new: &[NewJob]) -> Result<Vec<String>, DbErr> {
        let ids = jobs::insert(&self.txn, new).await?;
        self.due_now += new.iter().filter(|j| due_now(j)).count();
        Ok(ids)
    }

    /// Jobs written on [`txn`](Self::txn) by other means (a retry, a replay): the
    /// workers wake when it commits.
    pub fn jobs_written(&mut self, n: usize) {
        self.due_now += n;
    }

    /// Commits, then announces every event and wakes the job workers.
    pub async fn commit(self) -> Result<Vec<Emitted>, DbErr> {
        let UnitOfWork {
            txn,
            outbox,
            emitted,
            due_now,
        } = self;
        txn.commit().await?;
        let hub = outbox.hub();
        if due_now > 0 {
            hub.jobs_enqueued();
        }
        for e in &emitted {
            hub.change(Change {
                org_id: e.org_id.clone(),
                entity_kind: e.event_type.entity_kind().into(),
                entity_id: e.entity_id.clone(),
                event_type: e.event_type.as_str().into(),
            });
        }
        Ok(emitted)
    }

    /// Rolls back: nothing was written, nothing is announced.
    pub async fn rollback(self) -> Result<(), DbErr> {
        self.txn.rollback().await
    }
}
