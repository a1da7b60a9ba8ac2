//! What happens when a booking's event changed in the calendar: moved, deleted, or
//! changed on both sides (a 412 on our write). The connection's strategy decides:
//! Hitch wins (its version is written back), the calendar wins (the booking is moved or
//! cancelled through the usual booking rules), or ask (staff accept or reject a
//! proposal). Every decision is a `calendar_conflicts` row and an audit entry.
use app::model::auth::{Actor, CurrentUser};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, sea_query::Expr,
};
use serde_json::json;

use super::google::Event;
use super::push::save_link;
use super::{Deps, connection, push_job, strategy};
use crate::db::audit;
use crate::db::entities::{
    booking, calendar_conflict as conflict, calendar_connection as conn,
    calendar_event_link as link,
};
use crate::jobs::JobError;
use crate::platform::{ids, now_ms};

/// Conflict states as stored.
pub mod status {
    pub const OPEN: &str = "open";
    /// The calendar's version was applied (by staff, or by the "calendar wins" rule).
    pub const ACCEPTED: &str = "accepted";
    /// Hitch's version was written back (by staff, or by the "Hitch wins" rule).
    pub const REJECTED: &str = "rejected";
    /// The booking changed in Hitch afterwards and was written over the proposal.
    pub const SUPERSEDED: &str = "superseded";
}

pub struct RemoteChange<'a> {
    pub connection: &'a conn::Model,
    pub link: &'a link::Model,
    pub booking: &'a booking::Model,
    pub remote: &'a Event,
    /// Our write was refused with 412: the booking changed too.
    pub both_changed: bool,
}

impl RemoteChange<'_> {
    fn kind(&self) -> &'static str {
        if self.remote.cancelled() {
            "deleted"
        } else {
            "moved"
        }
    }

    /// The remote's new times, when it is a timed event that moved.
    fn times(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        self.remote.start.zip(self.remote.end)
    }
}

fn ms(t: Option<DateTime<Utc>>) -> Option<i64> {
    t.map(|t| t.timestamp_millis())
}

/// Decides what a remote change means for its booking.
pub async fn apply(
    deps: &Deps,
    db: &DatabaseConnection,
    ch: RemoteChange<'_>,
) -> Result<(), JobError> {
    let (c, b, remote) = (ch.connection, ch.booking, ch.remote);
    let cal = ch.link.remote_calendar_id.clone();
    let same_times = ms(remote.start) == Some(b.starts_at.timestamp_millis())
        && ms(remote.end) == Some(b.ends_at.timestamp_millis());
    // Only the title or the notes changed there, or it matches the booking already:
    // remember the version; write ours again only if the booking changed too.
    if !remote.cancelled() && same_times {
        let keep = if ch.both_changed {
            None
        } else {
            ch.link.pushed_hash.clone()
        };
        save_link(db, c, &b.id, &cal, remote, keep).await?;
        if ch.both_changed {
            enqueue_push(db, c, &b.id).await?;
        }
        return Ok(());
    }
    // Already known: a deleted event seen deleted again, the same proposed move.
    if remote.cancelled() && ch.link.remote_deleted {
        return Ok(());
    }
    let who = connection::actor(c);
    match c.strategy.as_str() {
        strategy::HITCH => keep_hitch(db, &ch, &who, "the connection's rule: Hitch wins").await,
        strategy::CALENDAR => match take_calendar(deps, db, &ch, &who).await {
            Ok(()) => Ok(()),
            Err(why) => {
                propose(db, &ch, &format!("Hitch could not apply it: {why}")).await?;
                connection::announce(deps, c, "calendar_conflict.opened");
                Ok(())
            }
        },
        _ => {
            propose(db, &ch, "").await?;
            connection::announce(deps, c, "calendar_conflict.opened");
            Ok(())
        }
    }
}

/// Writes Hitch's version back over the remote one.
async fn keep_hitch(
    db: &DatabaseConnection,
    ch: &RemoteChange<'_>,
    who: &CurrentUser,
    why: &str,
) -> Result<(), JobError> {
    let (c, b) = (ch.connection, ch.booking);
    // The remote version's etag, so the write goes through once; no hash, so it writes.
    save_link(db, c, &b.id, &ch.link.remote_calendar_id, ch.remote, None).await?;
    record(db, ch, status::REJECTED, why, Some(who)).await?;
    enqueue_push(db, c, &b.id).await
}

/// Moves or cancels the booking to match the calendar. A refusal (the slot is taken,
/// outside opening hours) comes back as a sentence.
async fn take_calendar(
    deps: &Deps,
    db: &DatabaseConnection,
    ch: &RemoteChange<'_>,
    who: &CurrentUser,
) -> Result<(), String> {
    let changes = deps
        .changes()
        .ok_or_else(|| "the booking service is not ready".to_string())?;
    let (c, b) = (ch.connection, ch.booking);
    // Remember the remote version first: the booking's own change event queues a push
    // that must find it current.
    save_link(db, c, &b.id, &ch.link.remote_calendar_id, ch.remote, None)
        .await
        .map_err(|e| e.to_string())?;
    if ch.remote.cancelled() {
        changes
            .cancel(who, &b.id, "Deleted in the connected calendar")
            .await?;
    } else {
        let (start, end) = ch
            .times()
            .ok_or_else(|| "it became an all-day event".to_string())?;
        changes.move_to(who, &b.id, start, end).await?;
    }
    record(
        db,
        ch,
        status::ACCEPTED,
        "the connection's rule: the calendar wins",
        Some(who),
    )
    .await
    .map_err(|e| e.to_string())
}

/// Leaves the booking as it is and asks staff. The remote version is remembered so the
/// same change is not proposed again.
async fn propose(
    db: &DatabaseConnection,
    ch: &RemoteChange<'_>,
    why: &str,
) -> Result<(), JobError> {
    let (c, b) = (ch.connection, ch.booking);
    save_link(
        db,
        c,
        &b.id,
        &ch.link.remote_calendar_id,
        ch.remote,
        ch.link.pushed_hash.clone(),
    )
    .await?;
    // One open proposal per booking: a newer remote change replaces the older one.
    conflict::Entity::update_many()
        .col_expr(conflict::Column::Status, Expr::value(status::SUPERSEDED))
        .col_expr(conflict::Column::DecidedAt, Expr::value(now_ms()))
        .filter(conflict::Column::ConnectionId.eq(&c.id))
        .filter(conflict::Column::BookingId.eq(&b.id))
        .filter(conflict::Column::Status.eq(status::OPEN))
        .exec(db)
        .await?;
    record(db, ch, status::OPEN, why, None).await
}

fn describe(ch: &RemoteChange<'_>, why: &str) -> String {
    let what = match (ch.kind(), ch.both_changed) {
        ("deleted", _) => "The event was deleted in the calendar".to_string(),
        (_, true) => {
            "The event was moved in the calendar while the booking changed in Hitch".to_string()
        }
        _ => "The event was moved in the calendar".to_string(),
    };
    if why.is_empty() {
        format!("{what}.")
    } else {
        format!("{what}; {why}.")
    }
}

async fn record(
    db: &DatabaseConnection,
    ch: &RemoteChange<'_>,
    state: &str,
    why: &str,
    decided_by: Option<&CurrentUser>,
) -> Result<(), JobError> {
    let (c, b) = (ch.connection, ch.booking);
    let now = now_ms();
    let id = ids::new("ccf");
    let detail = describe(ch, why);
    conflict::Entity::insert(conflict::ActiveModel {
        id: Set(id.clone()),
        organization_id: Set(c.organization_id.clone()),
        connection_id: Set(c.id.clone()),
        booking_id: Set(b.id.clone()),
        kind: Set(ch.kind().into()),
        remote_starts_at: Set(ms(ch.remote.start)),
        remote_ends_at: Set(ms(ch.remote.end)),
        status: Set(state.into()),
        detail: Set(detail.clone()),
        decided_by: Set(decided_by.map(|u| u.email.clone())),
        decided_at: Set(decided_by.map(|_| now)),
        created_at: Set(now),
    })
    .exec_without_returning(db)
    .await?;
    if let Some(who) = decided_by {
        audit::record(
            db,
            &Actor::from(who),
            &format!("calendar.conflict.{state}"),
            "booking",
            &b.id,
            json!({ "conflict_id": id, "kind": ch.kind(), "detail": detail }),
        )
        .await?;
    }
    Ok(())
}

/// Queues a push of the booking, after this job's writes.
async fn enqueue_push(
    db: &DatabaseConnection,
    c: &conn::Model,
    booking_id: &str,
) -> Result<(), JobError> {
    crate::jobs::insert(db, &[push_job(&c.organization_id, &c.id, booking_id)]).await?;
    Ok(())
}

/// Open proposals for a booking that Hitch has just written over.
pub async fn supersede(
    db: &DatabaseConnection,
    c: &conn::Model,
    booking_id: &str,
) -> Result<(), JobError> {
    conflict::Entity::update_many()
        .col_expr(conflict::Column::Status, Expr::value(status::SUPERSEDED))
        .col_expr(conflict::Column::DecidedAt, Expr::value(now_ms()))
        .filter(conflict::Column::ConnectionId.eq(&c.id))
        .filter(conflict::Column::BookingId.eq(booking_id))
        .filter(conflict::Column::Status.eq(status::OPEN))
        .exec(db)
        .await?;
    Ok(())
}

/// Staff's answer to an open proposal: accept applies the calendar's version to the
/// booking (through the booking rules; a refusal is returned as a sentence), reject
/// writes Hitch's version back.
pub async fn decide(
    deps: &Deps,
    db: &DatabaseConnection,
    user: &CurrentUser,
    conflict_id: &str,
    accept: bool,
) -> Result<(), DecideError> {
    let f = conflict::Entity::find_by_id(conflict_id)
        .filter(conflict::Column::OrganizationId.eq(&user.org_id))
        .one(db)
        .await
        .map_err(|e| DecideError::Internal(e.to_string()))?
        .ok_or(DecideError::NotFound)?;
    if f.status != status::OPEN {
        return Err(DecideError::Decided);
    }
    let c = connection::load(db, &f.connection_id)
        .await
        .map_err(|e| DecideError::Internal(e.to_string()))?
        .ok_or(DecideError::NotFound)?;
    if accept {
        let changes = deps
            .changes()
            .ok_or_else(|| DecideError::Internal("the booking service is not ready".into()))?;
        if f.kind == "deleted" {
            changes
                .cancel(user, &f.booking_id, "Deleted in the connected calendar")
                .await
                .map_err(DecideError::Refused)?;
        } else {
            let at = |ms: Option<i64>| ms.and_then(DateTime::<Utc>::from_timestamp_millis);
            let (Some(start), Some(end)) = (at(f.remote_starts_at), at(f.remote_ends_at)) else {
                return Err(DecideError::Refused("the proposal has no times".into()));
            };
            changes
                .move_to(user, &f.booking_id, start, end)
                .await
                .map_err(DecideError::Refused)?;
        }
    } else {
        // Forget the written hash so the push writes Hitch's version over the remote.
        link::Entity::update_many()
            .col_expr(
                link::Column::PushedHash,
                Expr::value(Option::<String>::None),
            )
            .filter(link::Column::ConnectionId.eq(&c.id))
            .filter(link::Column::BookingId.eq(&f.booking_id))
            .exec(db)
            .await
            .map_err(|e| DecideError::Internal(e.to_string()))?;
        enqueue_push(db, &c, &f.booking_id)
            .await
            .map_err(|e| DecideError::Internal(e.to_string()))?;
    }
    let state = if accept {
        status::ACCEPTED
    } else {
        status::REJECTED
    };
    let res = conflict::Entity::update_many()
        .col_expr(conflict::Column::Status, Expr::value(state))
        .col_expr(conflict::Column::DecidedBy, Expr::value(user.email.clone()))
        .col_expr(conflict::Column::DecidedAt, Expr::value(now_ms()))
        .filter(conflict::Column::Id.eq(&f.id))
        .filter(conflict::Column::Status.eq(status::OPEN))
        .exec(db)
        .await
        .map_err(|e| DecideError::Internal(e.to_string()))?;
    if res.rows_affected == 1 {
        audit::record(
            db,
            &Actor::from(user),
            &format!("calendar.conflict.{state}"),
            "booking",
            &f.booking_id,
            json!({ "conflict_id": f.id, "kind": f.kind, "detail": f.detail }),
        )
        .await
        .map_err(|e| DecideError::Internal(e.to_string()))?;
    }
    Ok(())
}

#[derive(Debug)]
pub enum DecideError {
    NotFound,
    Decided,
    /// The booking rules refused the calendar's version.
    Refused(String),
    Internal(String),
}
