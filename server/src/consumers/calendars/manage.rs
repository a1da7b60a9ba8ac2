//! The dashboard's side of calendar sync (connecting is in [`super::connect`]): choosing calendars and a conflict rule, syncing now, disconnecting, and deciding
//! proposed changes.
use app::error::AppError;
use app::model::auth::{Actor, CurrentUser};
use app::model::calendar_sync::{
    CalDavInput, CalendarSyncOverview, ConflictView, ConnectionSettings, ConnectionView,
    RemoteCalendarView,
};
use app::ports::{AppResult, CalendarSyncPort};
use async_trait::async_trait;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait, sea_query::Expr,
};
use serde_json::json;

use super::conflicts::{self, DecideError, status as conflict_status};
use super::subscriber::{CONNECTIONS_CHANGED, forget};
use super::{Deps, connection, secret_name, state, watch};
use crate::db::audit;
use crate::db::entities::{
    booking, calendar_busy_block as block, calendar_conflict as conflict,
    calendar_connection as conn, calendar_source as source, client, organization, resource,
};
use crate::platform::clock::{Style, local_ms, tz_named};
use crate::platform::{Change, Hub, OrInternal, now_ms};

#[derive(Clone)]
pub struct CalendarSyncService {
    pub db: DatabaseConnection,
    pub hub: Hub,
    pub deps: Deps,
}

pub(super) fn announce(hub: &Hub, org_id: &str, id: &str) {
    forget(org_id);
    hub.change(Change {
        org_id: org_id.into(),
        entity_kind: CONNECTIONS_CHANGED.into(),
        entity_id: id.into(),
        event_type: "calendar_connection.changed".into(),
    });
}

fn ago(ms: Option<i64>) -> String {
    let Some(ms) = ms else {
        return "never".into();
    };
    let s = (now_ms() - ms).max(0) / 1000;
    match s {
        0..60 => "just now".into(),
        60..3600 => format!("{} min ago", s / 60),
        3600..86_400 => format!("{} h ago", s / 3600),
        _ => format!("{} days ago", s / 86_400),
    }
}

impl CalendarSyncService {
    pub(super) fn oauth(&self) -> AppResult<&super::oauth::GoogleOAuth> {
        self.deps
            .oauth
            .as_ref()
            .ok_or_else(|| AppError::NotConfigured {
                detail: "Google Calendar is not set up on this server: the operator sets \
                     HITCH_GOOGLE_CLIENT_ID and HITCH_GOOGLE_CLIENT_SECRET."
                    .into(),
            })
    }

    async fn find(&self, user: &CurrentUser, id: &str) -> AppResult<conn::Model> {
        conn::Entity::find_by_id(id)
            .filter(conn::Column::OrganizationId.eq(&user.org_id))
            .one(&self.db)
            .await
            .or_internal()?
            .ok_or_else(|| AppError::not_found("calendar connection"))
    }

    async fn calendars(&self, c: &conn::Model) -> AppResult<Vec<RemoteCalendarView>> {
        Ok(source::Entity::find()
            .filter(source::Column::ConnectionId.eq(&c.id))
            .order_by_desc(source::Column::Busy)
            .order_by_asc(source::Column::Summary)
            .all(&self.db)
            .await
            .or_internal()?
            .into_iter()
            .map(|s| RemoteCalendarView {
                id: s.remote_id,
                summary: s.summary,
                busy: s.busy,
            })
            .collect())
    }

    async fn conflict_views(
        &self,
        rows: Vec<conflict::Model>,
        tz: chrono_tz::Tz,
    ) -> AppResult<Vec<ConflictView>> {
        let ids: Vec<String> = rows.iter().map(|f| f.booking_id.clone()).collect();
        let bookings: Vec<(booking::Model, Option<String>)> = booking::Entity::find()
            .filter(booking::Column::Id.is_in(ids))
            .all(&self.db)
            .await
            .or_internal()?
            .into_iter()
            .map(|b| (b, None))
            .collect();
        let guest_ids: Vec<String> = bookings.iter().map(|(b, _)| b.client_id.clone()).collect();
        let guests: Vec<(String, String)> = client::Entity::find()
            .select_only()
            .column(client::Column::Id)
            .column(client::Column::Name)
            .filter(client::Column::Id.is_in(guest_ids))
            .into_tuple()
            .all(&self.db)
            .await
            .or_internal()?;
        let bookings: Vec<(booking::Model, Option<String>)> = bookings
            .into_iter()
            .map(|(b, _)| {
                let name = guests
                    .iter()
                    .find(|(id, _)| *id == b.client_id)
                    .map(|g| g.1.clone());
                (b, name)
            })
            .collect();
        let span = |s: i64, e: i64| {
            format!(
                "{}–{}",
                local_ms(s, tz, Style::Friendly),
                local_ms(e, tz, Style::Friendly)
                    .rsplit(", ")
                    .next()
                    .unwrap_or_default()
            )
        };
        Ok(rows
            .into_iter()
            .map(|f| {
                let found = bookings.iter().find(|(b, _)| b.id == f.booking_id);
                let (label, current) = found.map_or_else(
                    || ("(booking deleted)".to_string(), String::new()),
                    |(b, g)| {
                        (
                            format!("{} ({})", g.as_deref().unwrap_or("Guest"), b.party_size),
                            span(b.starts_at.timestamp_millis(), b.ends_at.timestamp_millis()),
                        )
                    },
                );
                ConflictView {
                    proposed: match (f.kind.as_str(), f.remote_starts_at, f.remote_ends_at) {
                        ("moved", Some(s), Some(e)) => span(s, e),
                        _ => String::new(),
                    },
                    id: f.id,
                    booking_id: f.booking_id,
                    booking_label: label,
                    kind: f.kind,
                    current,
                    detail: f.detail,
                    status: f.status,
                    decided_by: f.decided_by,
                    when: local_ms(f.decided_at.unwrap_or(f.created_at), tz, Style::Stamp),
                }
            })
            .collect())
    }
}

fn decide_error(e: DecideError) -> AppError {
    match e {
        DecideError::NotFound => AppError::not_found("calendar change"),
        DecideError::Decided => AppError::InvalidTransition {
            detail: "This change was decided already.".into(),
        },
        DecideError::Refused(why) => AppError::InvalidTransition {
            detail: format!("The booking cannot take the calendar's change: {why}"),
        },
        DecideError::Internal(e) => crate::platform::internal(anyhow::anyhow!(e)),
    }
}

#[async_trait]
impl CalendarSyncPort for CalendarSyncService {
    async fn overview(&self, user: &CurrentUser) -> AppResult<CalendarSyncOverview> {
        let db = &self.db;
        let org = organization::Entity::find_by_id(&user.org_id)
            .one(db)
            .await
            .or_internal()?
            .ok_or_else(|| AppError::not_found("organization"))?;
        let tz = tz_named(&org.time_zone);
        let resources: Vec<(String, String)> = resource::Entity::find()
            .select_only()
            .column(resource::Column::Id)
            .column(resource::Column::Name)
            .filter(resource::Column::OrganizationId.eq(&org.id))
            .order_by_asc(resource::Column::Name)
            .into_tuple()
            .all(db)
            .await
            .or_internal()?;
        let rows = conn::Entity::find()
            .filter(conn::Column::OrganizationId.eq(&org.id))
            .order_by_asc(conn::Column::CreatedAt)
            .all(db)
            .await
            .or_internal()?;
        let mut connections = Vec::with_capacity(rows.len());
        for c in rows {
            let busy_blocks = block::Entity::find()
                .filter(block::Column::ConnectionId.eq(&c.id))
                .count(db)
                .await
                .or_internal()?;
            let calendars = self.calendars(&c).await?;
            connections.push(ConnectionView {
                scope_label: c
                    .resource_id
                    .as_ref()
                    .and_then(|r| resources.iter().find(|(id, _)| id == r))
                    .map_or_else(|| "All resources".to_string(), |(_, n)| n.clone()),
                syncing: c.syncing_since.is_some(),
                last_sync: ago(c.last_sync_at),
                backoff_until: c
                    .backoff_until
                    .filter(|t| *t > now_ms())
                    .map(|t| local_ms(t, tz, Style::Stamp)),
                id: c.id,
                provider: c.provider,
                account: c.account,
                resource_id: c.resource_id,
                state: c.state,
                last_error: c.last_error,
                target_calendar_id: c.target_calendar_id,
                strategy: c.strategy,
                calendars,
                busy_blocks,
            });
        }
        let open = conflict::Entity::find()
            .filter(conflict::Column::OrganizationId.eq(&org.id))
            .filter(conflict::Column::Status.eq(conflict_status::OPEN))
            .order_by_asc(conflict::Column::CreatedAt)
            .limit(100)
            .all(db)
            .await
            .or_internal()?;
        let decided = conflict::Entity::find()
            .filter(conflict::Column::OrganizationId.eq(&org.id))
            .filter(conflict::Column::Status.ne(conflict_status::OPEN))
            .order_by_desc(conflict::Column::CreatedAt)
            .limit(20)
            .all(db)
            .await
            .or_internal()?;
        Ok(CalendarSyncOverview {
            google_configured: self.deps.oauth.is_some(),
            connections,
            open_conflicts: self.conflict_views(open, tz).await?,
            decided: self.conflict_views(decided, tz).await?,
            resources,
        })
    }

    async fn update_connection(
        &self,
        user: &CurrentUser,
        id: &str,
        settings: &ConnectionSettings,
    ) -> AppResult<()> {
        let c = self.find(user, id).await?;
        let calendars = self.calendars(&c).await?;
        settings.validate(&calendars)?;
        let target =
            (!settings.target_calendar_id.is_empty()).then(|| settings.target_calendar_id.clone());
        let txn = self.db.begin().await.or_internal()?;
        conn::Entity::update_many()
            .col_expr(conn::Column::TargetCalendarId, Expr::value(target.clone()))
            .col_expr(
                conn::Column::Strategy,
                Expr::value(settings.strategy.clone()),
            )
            .col_expr(conn::Column::UpdatedAt, Expr::value(now_ms()))
            .filter(conn::Column::Id.eq(&c.id))
            .exec(&txn)
            .await
            .or_internal()?;
        for cal in &calendars {
            let busy = settings.busy.contains(&cal.id);
            if busy == cal.busy {
                continue;
            }
            source::Entity::update_many()
                .col_expr(source::Column::Busy, Expr::value(busy))
                // Counted from scratch when it becomes busy again.
                .col_expr(
                    source::Column::SyncToken,
                    Expr::value(Option::<String>::None),
                )
                .filter(source::Column::ConnectionId.eq(&c.id))
                .filter(source::Column::RemoteId.eq(&cal.id))
                .exec(&txn)
                .await
                .or_internal()?;
            if !busy {
                let ids: Vec<String> = source::Entity::find()
                    .select_only()
                    .column(source::Column::Id)
                    .filter(source::Column::ConnectionId.eq(&c.id))
                    .filter(source::Column::RemoteId.eq(&cal.id))
                    .into_tuple()
                    .all(&txn)
                    .await
                    .or_internal()?;
                block::Entity::delete_many()
                    .filter(block::Column::SourceId.is_in(ids))
                    .exec(&txn)
                    .await
                    .or_internal()?;
            }
        }
        audit::record(
            &txn,
            &Actor::from(user),
            "calendar.settings_changed",
            "calendar_connection",
            &c.id,
            json!({ "target_calendar_id": target, "busy": settings.busy, "strategy": settings.strategy }),
        )
        .await
        .or_internal()?;
        if target != c.target_calendar_id {
            let moved = conn::Model {
                target_calendar_id: target.clone(),
                ..c.clone()
            };
            super::connect::backfill(&txn, &moved).await.or_internal()?;
        }
        watch::request_pull(&txn, &self.hub, &user.org_id, &c.id)
            .await
            .or_internal()?;
        txn.commit().await.or_internal()?;
        self.hub.jobs_enqueued();
        announce(&self.hub, &user.org_id, &c.id);
        Ok(())
    }

    async fn disconnect(&self, user: &CurrentUser, id: &str) -> AppResult<()> {
        let c = self.find(user, id).await?;
        watch::stop_all(&self.deps, &self.db, &c).await;
        // Revoking is a courtesy to the account owner: a failure does not keep the
        // connection (its tokens are deleted below either way).
        if let (Some(oauth), Ok(t)) = (
            self.deps.oauth.as_ref(),
            connection::tokens(&self.deps, &self.db, &c).await,
        ) && let Err(e) = oauth.revoke(&self.deps.http, &t.refresh_token).await
        {
            tracing::info!(connection = %c.id, error = %e, "Google token not revoked");
        }
        let txn = self.db.begin().await.or_internal()?;
        self.deps
            .vault
            .delete(&txn, &c.organization_id, &secret_name(&c.id))
            .await
            .or_internal()?;
        // Sources, links, busy blocks and conflicts go with it (foreign keys cascade;
        // deleted explicitly too, for SQLite without foreign key enforcement).
        block::Entity::delete_many()
            .filter(block::Column::ConnectionId.eq(&c.id))
            .exec(&txn)
            .await
            .or_internal()?;
        conflict::Entity::delete_many()
            .filter(conflict::Column::ConnectionId.eq(&c.id))
            .exec(&txn)
            .await
            .or_internal()?;
        crate::db::entities::calendar_event_link::Entity::delete_many()
            .filter(crate::db::entities::calendar_event_link::Column::ConnectionId.eq(&c.id))
            .exec(&txn)
            .await
            .or_internal()?;
        source::Entity::delete_many()
            .filter(source::Column::ConnectionId.eq(&c.id))
            .exec(&txn)
            .await
            .or_internal()?;
        conn::Entity::delete_by_id(&c.id)
            .exec(&txn)
            .await
            .or_internal()?;
        audit::record(
            &txn,
            &Actor::from(user),
            "calendar.disconnected",
            "calendar_connection",
            &c.id,
            json!({ "account": c.account }),
        )
        .await
        .or_internal()?;
        txn.commit().await.or_internal()?;
        announce(&self.hub, &user.org_id, &c.id);
        Ok(())
    }

    async fn connect_caldav(&self, user: &CurrentUser, input: &CalDavInput) -> AppResult<String> {
        self.add_caldav(user, input).await
    }

    async fn sync_now(&self, user: &CurrentUser, id: &str) -> AppResult<()> {
        let c = self.find(user, id).await?;
        if c.state != state::CONNECTED {
            return Err(AppError::InvalidTransition {
                detail: "Reconnect this calendar first: Google no longer accepts its sign-in."
                    .into(),
            });
        }
        watch::request_pull(&self.db, &self.hub, &user.org_id, &c.id)
            .await
            .or_internal()?;
        Ok(())
    }

    async fn decide(&self, user: &CurrentUser, conflict_id: &str, accept: bool) -> AppResult<()> {
        conflicts::decide(&self.deps, &self.db, user, conflict_id, accept)
            .await
            .map_err(decide_error)?;
        self.hub.jobs_enqueued();
        Ok(())
    }
}
