//! The push job: one booking's event in one connection's calendar made to match the
//! booking as it is now (not as the event that queued the job saw it, so a burst of
//! edits costs at most one write). Inserts use the booking's own event id (a 409 means
//! an earlier attempt got there); updates and deletes send `If-Match`, and a 412 hands
//! the booking to the conflict rules.
use app::model::booking::BookingStatus;
use async_trait::async_trait;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    sea_query::OnConflict,
};

use super::conflicts::{self, RemoteChange};
use super::connection::SyncError;
use super::google::{ApiError, Event, EventBody, event_id};
use super::{Deps, caldav_sync, connection, state};
use crate::db::entities::{
    booking, calendar_connection as conn, calendar_event_link as link, client, resource,
};
use crate::jobs::{Handler, JobContext, JobError, Reason};
use crate::platform::hash::sha256_hex;
use crate::platform::{ids, now_ms};

pub struct Push {
    deps: Deps,
}

impl Push {
    /// The push for a Google connection.
    async fn google(
        &self,
        db: &DatabaseConnection,
        c: &conn::Model,
        wanted: Option<&booking::Model>,
        existing: Option<link::Model>,
    ) -> Result<(), SyncError> {
        match (wanted, existing) {
            (None, None) => Ok(()),
            (None, Some(l)) => self.remove(db, c, l).await,
            (Some(b), l) => {
                let Some(cal) = c.target_calendar_id.clone() else {
                    return Ok(());
                };
                self.write(db, c, b, &cal, l).await
            }
        }
    }

    pub fn new(deps: Deps) -> Push {
        Push { deps }
    }
}

/// A call with a token that may have just expired: on 401, refresh once and call again.
macro_rules! with_token {
    ($deps:expr, $db:expr, $c:expr, |$t:ident| $call:expr) => {{
        let $t = connection::access_token($deps, $db, $c, false).await?;
        match $call.await {
            Err($crate::consumers::calendars::google::ApiError::Unauthorized) => {
                let $t = connection::access_token($deps, $db, $c, true).await?;
                $call.await
            }
            other => other,
        }
    }};
}
pub(crate) use with_token;

/// Whether the booking belongs in this connection's calendar.
pub fn belongs(c: &conn::Model, b: &booking::Model) -> bool {
    let active = matches!(
        BookingStatus::parse(&b.status),
        Some(BookingStatus::Pending | BookingStatus::Confirmed)
    );
    active && c.resource_id.as_ref().is_none_or(|r| *r == b.resource_id)
}

/// The event Hitch writes for a booking, and the hash that tells whether it changed.
async fn body(
    deps: &Deps,
    db: &DatabaseConnection,
    b: &booking::Model,
) -> Result<(serde_json::Value, String), JobError> {
    let (summary, description) = texts(deps, db, b).await?;
    let id = event_id(&b.id);
    let json = EventBody {
        id: &id,
        booking_id: &b.id,
        summary: &summary,
        description: &description,
        start: b.starts_at,
        end: b.ends_at,
        tentative: b.status == BookingStatus::Pending.as_str(),
    }
    .to_json();
    let hash = sha256_hex(&json.to_string());
    Ok((json, hash))
}

/// A booking's event title ("Ada Lovelace (4) · Terrace") and description (its
/// notes and a link to it in the dashboard), for any provider.
pub async fn texts(
    deps: &Deps,
    db: &DatabaseConnection,
    b: &booking::Model,
) -> Result<(String, String), JobError> {
    let resource = resource::Entity::find_by_id(&b.resource_id).one(db).await?;
    let guest = client::Entity::find_by_id(&b.client_id).one(db).await?;
    let guest = guest.map_or_else(|| "Guest".to_string(), |g| g.name);
    let place = resource.map(|r| r.name).unwrap_or_default();
    let summary = format!("{guest} ({}) · {place}", b.party_size);
    let mut description = format!(
        "Booked in Hitch: {}/bookings/{}",
        deps.public_url.trim_end_matches('/'),
        b.id
    );
    if !b.notes.trim().is_empty() {
        description = format!("{}\n\n{description}", b.notes.trim());
    }
    Ok((summary, description))
}

/// Records what the calendar now holds for the booking.
pub async fn save_link(
    db: &DatabaseConnection,
    c: &conn::Model,
    booking_id: &str,
    cal: &str,
    remote: &Event,
    pushed_hash: Option<String>,
) -> Result<(), JobError> {
    let now = now_ms();
    let row = link::ActiveModel {
        id: Set(ids::new("cel")),
        organization_id: Set(c.organization_id.clone()),
        connection_id: Set(c.id.clone()),
        booking_id: Set(booking_id.into()),
        remote_calendar_id: Set(cal.into()),
        remote_event_id: Set(remote.id.clone()),
        etag: Set(remote.etag.clone()),
        pushed_hash: Set(pushed_hash),
        remote_starts_at: Set(remote.start.map(|t| t.timestamp_millis())),
        remote_ends_at: Set(remote.end.map(|t| t.timestamp_millis())),
        remote_deleted: Set(remote.cancelled()),
        created_at: Set(now),
        updated_at: Set(now),
    };
    link::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([link::Column::ConnectionId, link::Column::BookingId])
                .update_columns([
                    link::Column::RemoteCalendarId,
                    link::Column::RemoteEventId,
                    link::Column::Etag,
                    link::Column::PushedHash,
                    link::Column::RemoteStartsAt,
                    link::Column::RemoteEndsAt,
                    link::Column::RemoteDeleted,
                    link::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

#[async_trait]
impl Handler for Push {
    async fn run(&self, job: &JobContext) -> Result<(), JobError> {
        let (Some(conn_id), Some(booking_id)) = (
            job.payload["connection_id"].as_str(),
            job.payload["booking_id"].as_str(),
        ) else {
            return Err(JobError::Fatal(
                Reason::Invalid,
                "payload needs connection_id and booking_id".into(),
            ));
        };
        let db = &job.db;
        // Disconnected since: nothing to do.
        let Some(c) = connection::load(db, conn_id).await? else {
            return Ok(());
        };
        if c.state != state::CONNECTED {
            return Ok(());
        }
        if let Some(wait) = connection::held_back(&c) {
            return Err(wait);
        }
        let b = booking::Entity::find_by_id(booking_id)
            .filter(booking::Column::OrganizationId.eq(&c.organization_id))
            .one(db)
            .await?;
        let existing = link::Entity::find()
            .filter(link::Column::ConnectionId.eq(&c.id))
            .filter(link::Column::BookingId.eq(booking_id))
            .one(db)
            .await?;
        let wanted = b.as_ref().filter(|b| belongs(&c, b));
        let result = if c.provider == caldav_sync::PROVIDER {
            caldav_sync::push(&self.deps, db, &c, wanted, existing).await
        } else {
            self.google(db, &c, wanted, existing).await
        };
        match result {
            Ok(()) => {
                connection::healthy(db, &c.id).await?;
                Ok(())
            }
            Err(SyncError::Job(e)) => Err(e),
            Err(SyncError::Api(e)) => Err(connection::api_failure(db, &c, e).await),
        }
    }
}

impl Push {
    /// The booking left this calendar (cancelled, moved to another resource): its
    /// event goes. A cancellation in Hitch is final, so a remote edit made meanwhile
    /// (412) does not keep the event.
    async fn remove(
        &self,
        db: &DatabaseConnection,
        c: &conn::Model,
        l: link::Model,
    ) -> Result<(), SyncError> {
        if l.remote_deleted {
            return Ok(());
        }
        let d = &self.deps;
        let (cal, id) = (&l.remote_calendar_id, &l.remote_event_id);
        match with_token!(d, db, c, |t| d.api.delete(&t, cal, id, l.etag.as_deref())) {
            Err(ApiError::Changed) => {
                with_token!(d, db, c, |t| d.api.delete(&t, cal, id, None))?;
            }
            other => other?,
        }
        link::Entity::update_many()
            .col_expr(
                link::Column::RemoteDeleted,
                sea_orm::sea_query::Expr::value(true),
            )
            .col_expr(
                link::Column::UpdatedAt,
                sea_orm::sea_query::Expr::value(now_ms()),
            )
            .filter(link::Column::Id.eq(&l.id))
            .exec(db)
            .await?;
        Ok(())
    }

    async fn write(
        &self,
        db: &DatabaseConnection,
        c: &conn::Model,
        b: &booking::Model,
        cal: &str,
        l: Option<link::Model>,
    ) -> Result<(), SyncError> {
        let d = &self.deps;
        let (json, hash) = body(d, db, b).await?;
        let id = event_id(&b.id);
        let written = match &l {
            // Written before and unchanged since (a conflict decision keeps its version).
            Some(l) if l.pushed_hash.as_deref() == Some(&hash) && !l.remote_deleted => {
                return Ok(());
            }
            // Moved to another calendar: the old one's event goes first.
            Some(l) if l.remote_calendar_id != cal => {
                let old = &l.remote_calendar_id;
                with_token!(d, db, c, |t| d.api.delete(
                    &t,
                    old,
                    &l.remote_event_id,
                    None
                ))?;
                self.insert(db, c, cal, &id, &json).await?
            }
            Some(l) => {
                let etag = l.etag.as_deref();
                match with_token!(d, db, c, |t| d.api.update(&t, cal, &id, &json, etag)) {
                    Err(ApiError::Changed) => {
                        // Both sides changed: the conflict rules decide.
                        let remote = with_token!(d, db, c, |t| d.api.get(&t, cal, &id))?;
                        let change = RemoteChange {
                            connection: c,
                            link: l,
                            booking: b,
                            remote: &remote,
                            both_changed: true,
                        };
                        conflicts::apply(d, db, change).await?;
                        return Ok(());
                    }
                    Err(ApiError::NotFound) => self.insert(db, c, cal, &id, &json).await?,
                    other => other?,
                }
            }
            None => self.insert(db, c, cal, &id, &json).await?,
        };
        save_link(db, c, &b.id, cal, &written, Some(hash)).await?;
        conflicts::supersede(db, c, &b.id).await?;
        Ok(())
    }

    /// Inserts with the booking's event id; if it exists (an earlier attempt, or a
    /// deleted event Google keeps), overwrites it with the booking's version.
    async fn insert(
        &self,
        db: &DatabaseConnection,
        c: &conn::Model,
        cal: &str,
        id: &str,
        json: &serde_json::Value,
    ) -> Result<Event, SyncError> {
        let d = &self.deps;
        match with_token!(d, db, c, |t| d.api.insert(&t, cal, json)) {
            Err(ApiError::Duplicate) => Ok(with_token!(d, db, c, |t| d
                .api
                .update(&t, cal, id, json, None))?),
            other => Ok(other?),
        }
    }
}
