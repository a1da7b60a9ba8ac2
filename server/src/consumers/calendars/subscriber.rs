//! Calendars as a consumer of domain events: a booking change queues one push job per
//! connection it concerns, in the booking's transaction (a few row inserts, no call
//! to Google), so a booking write with a calendar connected costs about what it costs
//! without one.
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use app::model::platform::IntegrationAlert;
use async_trait::async_trait;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter,
};

use super::conflicts::status as conflict_status;
use super::{Deps, push_job, state};
use crate::db::entities::{calendar_conflict, calendar_connection as conn};
use crate::events::{EventRecord, Subscriber};
use crate::jobs::{NewJob, Registry};
use crate::platform::Hub;
use crate::platform::org_cache::OrgCache;

/// Entity kind announced on the hub when connections change.
pub const CONNECTIONS_CHANGED: &str = "calendar_connection";
const TTL: Duration = Duration::from_secs(30);
/// A booking change reaches the calendar this long after the write: the push then runs
/// after a burst of writes (a morning's imports, a drag then an edit) rather than
/// beside each one, and pushes the booking as it is by then, once.
const PUSH_DELAY: Duration = Duration::from_secs(2);

/// (connection id, resource it is limited to) of an organization's writing connections.
type Targets = Arc<Vec<(String, Option<String>)>>;

static TARGETS: LazyLock<OrgCache<Targets>> = LazyLock::new(|| OrgCache::new(TTL));

/// Drops the cached targets of an organization (they changed).
pub fn forget(org_id: &str) {
    TARGETS.forget(org_id);
}

fn watch(hub: &Hub) {
    TARGETS.watch(hub, CONNECTIONS_CHANGED);
}

async fn targets(db: &impl ConnectionTrait, org_id: &str) -> Result<Targets, DbErr> {
    if let Some(t) = TARGETS.get(org_id) {
        return Ok(t);
    }
    let t: Targets = Arc::new(
        conn::Entity::find()
            .filter(conn::Column::OrganizationId.eq(org_id))
            .filter(conn::Column::State.eq(state::CONNECTED))
            .filter(conn::Column::TargetCalendarId.is_not_null())
            .all(db)
            .await?
            .into_iter()
            .map(|c| (c.id, c.resource_id))
            .collect(),
    );
    TARGETS.put(org_id, t.clone());
    Ok(t)
}

pub struct CalendarSubscriber {
    deps: Deps,
}

impl CalendarSubscriber {
    /// Must run inside the tokio runtime: it watches `hub` for connection changes.
    pub fn new(hub: &Hub, deps: Deps) -> Self {
        watch(hub);
        CalendarSubscriber { deps }
    }
}

#[async_trait]
impl Subscriber for CalendarSubscriber {
    fn name(&self) -> &'static str {
        "calendars"
    }

    fn register(&self, jobs: &mut Registry) {
        super::register(jobs, self.deps.clone());
    }

    async fn on_event(
        &self,
        txn: &DatabaseTransaction,
        e: &EventRecord<'_>,
    ) -> Result<Vec<NewJob>, DbErr> {
        if e.event_type.entity_kind() != "booking" {
            return Ok(Vec::new());
        }
        let all = targets(txn, e.org_id).await?;
        if all.is_empty() {
            return Ok(Vec::new());
        }
        // The booking's resource now and before a move: a per-resource connection
        // writes the one and removes from the other.
        let now = e.data["resource_id"].as_str();
        let before = e.data["previous"]["resource_id"].as_str();
        Ok(all
            .iter()
            .filter(|(_, only)| {
                only.as_deref()
                    .is_none_or(|r| Some(r) == now || Some(r) == before)
            })
            .map(|(id, _)| push_job(e.org_id, id, e.entity_id).after(PUSH_DELAY))
            .collect())
    }

    async fn alerts(
        &self,
        db: &DatabaseConnection,
        org_id: &str,
    ) -> Result<Vec<IntegrationAlert>, DbErr> {
        let mut out: Vec<IntegrationAlert> = conn::Entity::find()
            .filter(conn::Column::OrganizationId.eq(org_id))
            .filter(conn::Column::State.eq(state::RECONNECT))
            .all(db)
            .await?
            .into_iter()
            .map(|c| IntegrationAlert {
                title: "Calendar needs reconnecting".into(),
                href: "/calendar/sync".into(),
                subject: c.account,
                detail: "stopped syncing: Google no longer accepts its sign-in. Reconnect it on the Calendar sync page.".into(),
            })
            .collect();
        let open = calendar_conflict::Entity::find()
            .filter(calendar_conflict::Column::OrganizationId.eq(org_id))
            .filter(calendar_conflict::Column::Status.eq(conflict_status::OPEN))
            .count(db)
            .await?;
        if open > 0 {
            out.push(IntegrationAlert {
                title: "Calendar changes to review".into(),
                href: "/calendar/sync".into(),
                subject: if open == 1 {
                    "1 booking".into()
                } else {
                    format!("{open} bookings")
                },
                detail: "moved or deleted in a connected calendar; accept or reject each change."
                    .into(),
            });
        }
        Ok(out)
    }
}
