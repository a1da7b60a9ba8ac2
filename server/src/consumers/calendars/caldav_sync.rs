//! The sync engine's CalDAV side: the same push and pull jobs, links, busy blocks and
//! conflict rules as Google, over [`CalDav`]. An event lives at a path derived from
//! the booking (`{calendar}/{event id}.ics`); the link keeps that path and its etag.
//! Changes to bookings' events come from `sync-collection` on the calendar bookings
//! go to; busy time is read afresh over a window with recurrences expanded, because
//! `sync-collection` hands back a weekly meeting once, not once a week.
use std::collections::HashSet;
use std::time::Duration;

use chrono::{Duration as Days, Utc};
use chrono_tz::Tz;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, sea_query::Expr};
use serde::{Deserialize, Serialize};

use super::caldav::{CalDav, Outgoing, event_path};
use super::conflicts::{self, RemoteChange};
use super::connection::SyncError;
use super::google::{ApiError, Event};
use super::pull::{Pulled, apply_page, remove_unseen};
use super::push::{save_link, texts};
use super::{Deps, secret_name};
use crate::db::entities::{
    booking, calendar_connection as conn, calendar_event_link as link, calendar_source as source,
};
use crate::jobs::JobError;
use crate::platform::hash::sha256_hex;
use crate::platform::now_ms;

pub const PROVIDER: &str = "caldav";
/// How far ahead busy time is read.
const BUSY_AHEAD: Days = Days::days(180);
/// Requests to a CalDAV server wait at most this long.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// What the vault keeps for a CalDAV connection.
#[derive(Serialize, Deserialize)]
pub struct Account {
    pub url: String,
    pub user: String,
    pub password: String,
}

/// The connection's CalDAV client, its password read from the vault.
pub async fn client(
    deps: &Deps,
    db: &DatabaseConnection,
    c: &conn::Model,
) -> Result<CalDav, SyncError> {
    let stored = deps
        .vault
        .get(db, &c.organization_id, &secret_name(&c.id))
        .await
        .map_err(|e| SyncError::Job(JobError::Retry(crate::jobs::Reason::Other, e.to_string())))?
        .ok_or(SyncError::Api(ApiError::Unauthorized))?;
    let account: Account = serde_json::from_str(stored.expose())
        .map_err(|_| SyncError::Api(ApiError::Unauthorized))?;
    let base = account.url.parse().map_err(|_| {
        SyncError::Api(ApiError::Refused(
            400,
            "the server address is not a URL".into(),
        ))
    })?;
    Ok(CalDav::new(
        deps.dav_http.clone(),
        base,
        &account.user,
        &account.password,
    ))
}

/// The push job for a CalDAV connection: `wanted` is the booking when it belongs in
/// the calendar, `existing` what Hitch wrote there before.
pub async fn push(
    deps: &Deps,
    db: &DatabaseConnection,
    c: &conn::Model,
    wanted: Option<&booking::Model>,
    existing: Option<link::Model>,
) -> Result<(), SyncError> {
    let dav = client(deps, db, c).await?;
    match (wanted, existing) {
        (None, None) => Ok(()),
        (None, Some(l)) => {
            if l.remote_deleted {
                return Ok(());
            }
            // A cancellation in Hitch is final: a remote edit meanwhile does not keep it.
            match dav.delete(&l.remote_event_id, l.etag.as_deref()).await {
                Err(ApiError::Changed) => dav.delete(&l.remote_event_id, None).await?,
                other => other?,
            }
            link::Entity::update_many()
                .col_expr(link::Column::RemoteDeleted, Expr::value(true))
                .col_expr(link::Column::UpdatedAt, Expr::value(now_ms()))
                .filter(link::Column::Id.eq(&l.id))
                .exec(db)
                .await?;
            Ok(())
        }
        (Some(b), l) => {
            let Some(cal) = c.target_calendar_id.clone() else {
                return Ok(());
            };
            write(deps, db, c, &dav, b, &cal, l).await
        }
    }
}

async fn write(
    deps: &Deps,
    db: &DatabaseConnection,
    c: &conn::Model,
    dav: &CalDav,
    b: &booking::Model,
    cal: &str,
    l: Option<link::Model>,
) -> Result<(), SyncError> {
    let (summary, description) = texts(deps, db, b).await?;
    let ics = Outgoing {
        booking_id: &b.id,
        sequence: b.revision,
        summary: &summary,
        description: &description,
        start: b.starts_at,
        end: b.ends_at,
        tentative: b.status == "pending",
    }
    .to_ics();
    // The hash leaves out DTSTAMP, which changes on every rendering.
    let hash = sha256_hex(&format!(
        "{summary}\n{description}\n{}\n{}\n{}",
        b.starts_at, b.ends_at, b.status
    ));
    let path = event_path(cal, &b.id);
    let etag = match &l {
        Some(l) if l.pushed_hash.as_deref() == Some(&hash) && !l.remote_deleted => return Ok(()),
        Some(l) if l.remote_calendar_id != cal => {
            dav.delete(&l.remote_event_id, None).await?;
            create(dav, &path, &ics).await?
        }
        Some(l) if !l.remote_deleted => {
            match dav.put(&l.remote_event_id, &ics, l.etag.as_deref()).await {
                Err(ApiError::Changed) => {
                    // Both sides changed: the conflict rules decide.
                    let remote = dav.get(&l.remote_event_id, Tz::UTC).await?;
                    conflicts::apply(
                        deps,
                        db,
                        RemoteChange {
                            connection: c,
                            link: l,
                            booking: b,
                            remote: &remote,
                            both_changed: true,
                        },
                    )
                    .await?;
                    return Ok(());
                }
                Err(ApiError::NotFound) => create(dav, &path, &ics).await?,
                other => other?,
            }
        }
        _ => create(dav, &path, &ics).await?,
    };
    let written = Event {
        id: path.clone(),
        etag,
        status: "confirmed".into(),
        start: Some(b.starts_at),
        end: Some(b.ends_at),
        days: None,
        transparent: false,
        booking_id: Some(b.id.clone()),
    };
    save_link(db, c, &b.id, cal, &written, Some(hash)).await?;
    conflicts::supersede(db, c, &b.id).await?;
    Ok(())
}

/// Creates the event; if it is there already (an earlier attempt, a decision that
/// Hitch wins), overwrites it with the booking's version.
async fn create(dav: &CalDav, path: &str, ics: &str) -> Result<Option<String>, ApiError> {
    match dav.put(path, ics, None).await {
        Err(ApiError::Duplicate) => dav.overwrite(path, ics).await,
        other => other,
    }
}

/// Pulls one calendar of a CalDAV connection with its client (made once per pull).
pub async fn pull_source(
    deps: &Deps,
    db: &DatabaseConnection,
    c: &conn::Model,
    dav: &CalDav,
    s: &source::Model,
    tz: Tz,
    total: &mut Pulled,
) -> Result<(), SyncError> {
    if c.target_calendar_id.as_deref() == Some(&s.remote_id) {
        // Bookings' events: what changed or went since the last token.
        let changes = match dav.changes(&s.remote_id, s.sync_token.as_deref(), tz).await {
            Err(ApiError::Gone) => dav.changes(&s.remote_id, None, tz).await?,
            other => other?,
        };
        let mut items: Vec<Event> = changes
            .changed
            .into_iter()
            .filter(|e| e.booking_id.is_some())
            .collect();
        items.extend(changes.removed.into_iter().map(|path| Event {
            id: path,
            etag: None,
            status: "cancelled".into(),
            start: None,
            end: None,
            days: None,
            transparent: false,
            booking_id: None,
        }));
        let bookings_only = source::Model {
            busy: false,
            ..s.clone()
        };
        apply_page(deps, db, c, &bookings_only, tz, &items, None, total).await?;
        source::Entity::update_many()
            .col_expr(
                source::Column::SyncToken,
                Expr::value(Some(changes.sync_token)),
            )
            .filter(source::Column::Id.eq(&s.id))
            .exec(db)
            .await?;
    }
    if s.busy {
        let now = Utc::now();
        let events: Vec<Event> = dav
            .between(&s.remote_id, now - Days::days(1), now + BUSY_AHEAD, tz)
            .await?
            .into_iter()
            .filter(|e| e.booking_id.is_none())
            .map(|mut e| {
                // Each occurrence of a recurring event is its own block.
                let when = e
                    .start
                    .map(|t| t.timestamp().to_string())
                    .or_else(|| e.days.map(|d| d.0.to_string()))
                    .unwrap_or_default();
                e.id = format!("{}#{when}", e.id);
                e
            })
            .collect();
        let mut seen = HashSet::new();
        apply_page(deps, db, c, s, tz, &events, Some(&mut seen), total).await?;
        total.busy_removed += remove_unseen(db, s, &seen).await?;
    }
    source::Entity::update_many()
        .col_expr(source::Column::LastSyncedAt, Expr::value(now_ms()))
        .filter(source::Column::Id.eq(&s.id))
        .exec(db)
        .await?;
    Ok(())
}
