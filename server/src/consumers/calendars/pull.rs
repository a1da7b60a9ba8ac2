//! The pull job: what changed in a connection's calendars since the last sync token
//! (everything, on the first pull or after Google's 410), page by page. Other events
//! in busy calendars become busy blocks (times only); events that stand for bookings
//! go to the conflict rules when they moved or were deleted there.
use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{Duration, TimeZone, Utc};
use chrono_tz::Tz;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect,
    TransactionTrait, sea_query::Expr,
};

use super::conflicts::{self, RemoteChange};
use super::connection::SyncError;
use super::google::{ApiError, Event, EventPage};
use super::push::with_token;
use super::{Deps, caldav_sync, connection, state, watch};
use crate::db::entities::{
    booking, calendar_busy_block as block, calendar_connection as conn,
    calendar_event_link as link, calendar_source as source, organization,
};
use crate::jobs::{JobContext, JobError, Reason};
use crate::platform::clock::tz_named;
use crate::platform::{ids, now_ms};

/// Busy time that ended this long ago is not kept.
const KEEP_PAST: Duration = Duration::days(1);
/// Pages one pull reads before it stops and queues the next (a huge first sync
/// never outlives the job's timeout).
const MAX_PAGES: usize = 200;

pub struct Pull {
    deps: Deps,
}

impl Pull {
    pub fn new(deps: Deps) -> Pull {
        Pull { deps }
    }
}

/// What one pull did, for the tests and the log.
#[derive(Debug, Default)]
pub struct Pulled {
    pub events: usize,
    pub busy_written: usize,
    pub busy_removed: usize,
    pub booking_changes: usize,
}

#[async_trait]
impl crate::jobs::Handler for Pull {
    async fn run(&self, job: &JobContext) -> Result<(), JobError> {
        let Some(conn_id) = job.payload["connection_id"].as_str() else {
            return Err(JobError::Fatal(
                Reason::Invalid,
                "payload needs connection_id".into(),
            ));
        };
        let db = &job.db;
        let Some(c) = connection::load(db, conn_id).await? else {
            return Ok(());
        };
        if c.state != state::CONNECTED {
            return Ok(());
        }
        if let Some(wait) = connection::held_back(&c) {
            return Err(wait);
        }
        conn::Entity::update_many()
            .col_expr(conn::Column::SyncingSince, Expr::value(now_ms()))
            .filter(conn::Column::Id.eq(&c.id))
            .exec(db)
            .await?;
        // Watch before reading, so a change made during the read still sends a notice.
        // Notices are a bonus: the timer pulls anyway if they fail.
        if c.provider != caldav_sync::PROVIDER
            && let Err(e) = watch::ensure(&self.deps, db, &c).await
        {
            tracing::info!(connection = %c.id, error = %e, "calendar push channel not renewed");
        }
        match pull(&self.deps, db, &c).await {
            Ok(p) => {
                tracing::debug!(connection = %c.id, events = p.events, "calendar pulled");
                let now = now_ms();
                conn::Entity::update_many()
                    .col_expr(conn::Column::SyncingSince, Expr::value(Option::<i64>::None))
                    .col_expr(conn::Column::LastSyncAt, Expr::value(now))
                    .filter(conn::Column::Id.eq(&c.id))
                    .exec(db)
                    .await?;
                connection::healthy(db, &c.id).await?;
                Ok(())
            }
            Err(SyncError::Api(e)) => Err(connection::api_failure(db, &c, e).await),
            Err(SyncError::Job(e)) => {
                let _ = connection::failed(db, &c.id, &e.to_string()).await;
                Err(e)
            }
        }
    }
}

/// Pulls every calendar of the connection that counts as busy or receives bookings.
pub async fn pull(
    deps: &Deps,
    db: &DatabaseConnection,
    c: &conn::Model,
) -> Result<Pulled, SyncError> {
    let sources = source::Entity::find()
        .filter(source::Column::ConnectionId.eq(&c.id))
        .all(db)
        .await?;
    let tz = organization::Entity::find_by_id(&c.organization_id)
        .one(db)
        .await?
        .map_or(Tz::UTC, |o| tz_named(&o.time_zone));
    let mut total = Pulled::default();
    // One password read from the vault per pull, not one per calendar.
    let dav = match c.provider.as_str() {
        caldav_sync::PROVIDER => Some(caldav_sync::client(deps, db, c).await?),
        _ => None,
    };
    for s in sources
        .iter()
        .filter(|s| s.busy || c.target_calendar_id.as_deref() == Some(&s.remote_id))
    {
        if let Some(dav) = &dav {
            caldav_sync::pull_source(deps, db, c, dav, s, tz, &mut total).await?;
        } else {
            sync_source(deps, db, c, s, tz, &mut total).await?;
        }
    }
    Ok(total)
}

async fn sync_source(
    deps: &Deps,
    db: &DatabaseConnection,
    c: &conn::Model,
    s: &source::Model,
    tz: Tz,
    total: &mut Pulled,
) -> Result<(), SyncError> {
    let mut sync_token = s.sync_token.clone();
    let mut page_token: Option<String> = None;
    // On a full sync, every busy event seen; blocks not among them are gone.
    let mut seen: Option<HashSet<String>> = sync_token.is_none().then(HashSet::new);
    let mut restarted = false;
    for _ in 0..MAX_PAGES {
        let (cal, st, pt) = (&s.remote_id, sync_token.as_deref(), page_token.as_deref());
        let page: EventPage = match with_token!(deps, db, c, |t| deps.api.list(&t, cal, st, pt)) {
            Err(ApiError::Gone) if !restarted => {
                // The token aged out: start again from nothing.
                restarted = true;
                sync_token = None;
                page_token = None;
                seen = Some(HashSet::new());
                continue;
            }
            other => other?,
        };
        apply_page(deps, db, c, s, tz, &page.items, seen.as_mut(), total).await?;
        match (page.next_page_token, page.next_sync_token) {
            (Some(next), _) => page_token = Some(next),
            (None, next_sync) => {
                if let Some(seen) = seen {
                    total.busy_removed += remove_unseen(db, s, &seen).await?;
                }
                source::Entity::update_many()
                    .col_expr(source::Column::SyncToken, Expr::value(next_sync))
                    .col_expr(source::Column::LastSyncedAt, Expr::value(now_ms()))
                    .filter(source::Column::Id.eq(&s.id))
                    .exec(db)
                    .await?;
                return Ok(());
            }
        }
    }
    // A very large calendar: carry on in the next pull from a fresh full sync.
    Err(SyncError::Job(JobError::Retry(
        Reason::Other,
        format!("more than {MAX_PAGES} pages; continuing"),
    )))
}

/// Queues a pull of every connected calendar not pulled for `every`.
pub async fn sweep(
    db: &DatabaseConnection,
    hub: &crate::platform::Hub,
    every: std::time::Duration,
) -> Result<usize, sea_orm::DbErr> {
    let due = now_ms() - every.as_millis() as i64;
    let stale = conn::Entity::find()
        .filter(conn::Column::State.eq(state::CONNECTED))
        .filter(
            sea_orm::Condition::any()
                .add(conn::Column::LastSyncAt.is_null())
                .add(conn::Column::LastSyncAt.lt(due)),
        )
        .all(db)
        .await?;
    let mut n = 0;
    for c in stale {
        if watch::request_pull(db, hub, &c.organization_id, &c.id).await? {
            n += 1;
        }
    }
    Ok(n)
}

/// The busy interval an event takes, if any.
fn busy_interval(e: &Event, tz: Tz) -> Option<(i64, i64)> {
    if e.cancelled() || e.transparent {
        return None;
    }
    let (start, end) = match (e.start, e.end, e.days) {
        (Some(s), Some(t), _) => (s, t),
        (_, _, Some((first, after))) => {
            let midnight = |d: chrono::NaiveDate| {
                tz.from_local_datetime(&d.and_hms_opt(0, 0, 0)?)
                    .earliest()
                    .map(|t| t.with_timezone(&Utc))
            };
            (midnight(first)?, midnight(after)?)
        }
        _ => return None,
    };
    (end > start && end > Utc::now() - KEEP_PAST)
        .then(|| (start.timestamp_millis(), end.timestamp_millis()))
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn apply_page(
    deps: &Deps,
    db: &DatabaseConnection,
    c: &conn::Model,
    s: &source::Model,
    tz: Tz,
    items: &[Event],
    mut seen: Option<&mut HashSet<String>>,
    total: &mut Pulled,
) -> Result<(), SyncError> {
    total.events += items.len();
    if items.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = items.iter().map(|e| e.id.as_str()).collect();
    let links: HashMap<String, link::Model> = link::Entity::find()
        .filter(link::Column::ConnectionId.eq(&c.id))
        .filter(link::Column::RemoteCalendarId.eq(&s.remote_id))
        .filter(link::Column::RemoteEventId.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|l| (l.remote_event_id.clone(), l))
        .collect();
    // Busy blocks of this page, written in one transaction.
    let mut rows = Vec::new();
    let mut touched = Vec::new();
    for e in items {
        // A booking's own event (ours, or another connection's copy) is not busy time:
        // the booking itself holds the slot.
        if links.contains_key(&e.id) || e.booking_id.is_some() || !s.busy {
            continue;
        }
        touched.push(e.id.clone());
        if let Some((start, end)) = busy_interval(e, tz) {
            if let Some(seen) = seen.as_deref_mut() {
                seen.insert(e.id.clone());
            }
            rows.push(block::ActiveModel {
                id: Set(ids::new("cbb")),
                organization_id: Set(c.organization_id.clone()),
                connection_id: Set(c.id.clone()),
                source_id: Set(s.id.clone()),
                resource_id: Set(c.resource_id.clone()),
                remote_event_id: Set(e.id.clone()),
                starts_at: Set(start),
                ends_at: Set(end),
            });
        }
    }
    if !touched.is_empty() {
        let txn = db.begin().await?;
        let removed = block::Entity::delete_many()
            .filter(block::Column::SourceId.eq(&s.id))
            .filter(block::Column::RemoteEventId.is_in(touched))
            .exec(&txn)
            .await?
            .rows_affected as usize;
        let written = rows.len();
        for chunk in rows.chunks(100) {
            block::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&txn)
                .await?;
        }
        txn.commit().await?;
        total.busy_written += written;
        total.busy_removed += removed.saturating_sub(written);
    }
    // Bookings' events that changed there (our own writes come back with our etag).
    let changed: Vec<(&Event, &link::Model)> = items
        .iter()
        .filter_map(|e| links.get(&e.id).map(|l| (e, l)))
        .filter(|(e, l)| e.etag.is_none() || e.etag != l.etag)
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    let bookings: HashMap<String, booking::Model> = booking::Entity::find()
        .filter(booking::Column::Id.is_in(changed.iter().map(|(_, l)| l.booking_id.clone())))
        .filter(booking::Column::OrganizationId.eq(&c.organization_id))
        .all(db)
        .await?
        .into_iter()
        .map(|b| (b.id.clone(), b))
        .collect();
    for (e, l) in changed {
        let Some(b) = bookings.get(&l.booking_id) else {
            continue;
        };
        total.booking_changes += 1;
        conflicts::apply(
            deps,
            db,
            RemoteChange {
                connection: c,
                link: l,
                booking: b,
                remote: e,
                both_changed: false,
            },
        )
        .await?;
    }
    Ok(())
}

/// After a full sync: the blocks of events that no longer exist.
pub(super) async fn remove_unseen(
    db: &DatabaseConnection,
    s: &source::Model,
    seen: &HashSet<String>,
) -> Result<usize, SyncError> {
    let stale: Vec<String> = block::Entity::find()
        .select_only()
        .column(block::Column::Id)
        .column(block::Column::RemoteEventId)
        .filter(block::Column::SourceId.eq(&s.id))
        .into_tuple::<(String, String)>()
        .all(db)
        .await?
        .into_iter()
        .filter(|(_, remote)| !seen.contains(remote))
        .map(|(id, _)| id)
        .collect();
    let mut n = 0;
    for chunk in stale.chunks(500) {
        n += block::Entity::delete_many()
            .filter(block::Column::Id.is_in(chunk.iter().cloned()))
            .exec(db)
            .await?
            .rows_affected as usize;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn ev(json: serde_json::Value) -> Event {
        Event::from_json(&json).expect("event")
    }

    #[test]
    fn only_opaque_live_events_take_time() {
        let later = (Utc::now() + Duration::days(2)).date_naive();
        let timed = ev(serde_json::json!({"id": "a",
            "start": {"dateTime": format!("{later}T10:00:00Z")},
            "end": {"dateTime": format!("{later}T11:00:00Z")}}));
        let (s, e) = busy_interval(&timed, Tz::UTC).expect("busy");
        assert_eq!(e - s, 3_600_000);
        let mut free = timed.clone();
        free.transparent = true;
        assert!(busy_interval(&free, Tz::UTC).is_none());
        let mut gone = timed.clone();
        gone.status = "cancelled".into();
        assert!(busy_interval(&gone, Tz::UTC).is_none());
        let old = ev(serde_json::json!({"id": "b",
            "start": {"dateTime": "2020-01-01T10:00:00Z"}, "end": {"dateTime": "2020-01-01T11:00:00Z"}}));
        assert!(busy_interval(&old, Tz::UTC).is_none());
    }

    #[test]
    fn all_day_events_block_the_local_day() {
        let day = (Utc::now() + Duration::days(3)).date_naive();
        let next = day.succ_opt().expect("day");
        let e = ev(serde_json::json!({"id": "c",
            "start": {"date": day.to_string()}, "end": {"date": next.to_string()}}));
        let tz: Tz = "Europe/Madrid".parse().expect("tz");
        let (s, t) = busy_interval(&e, tz).expect("busy");
        let start = DateTime::<Utc>::from_timestamp_millis(s)
            .expect("t")
            .with_timezone(&tz);
        assert_eq!(start.time(), chrono::NaiveTime::MIN);
        assert_eq!(start.date_naive(), day);
        assert!(t - s >= 23 * 3_600_000);
    }
}
