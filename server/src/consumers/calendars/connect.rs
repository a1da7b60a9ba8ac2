//! Connecting a Google account: the two ends of the OAuth dance (the routes keep
//! `state` and the PKCE verifier in the user's session in between), then the
//! connection made or renewed with the account's calendars and a first pull queued.
use app::error::AppError;
use app::model::auth::{Actor, CurrentUser};
use app::ports::AppResult;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
    TransactionTrait, sea_query::Expr,
};
use serde_json::json;

use super::manage::{CalendarSyncService, announce};
use super::oauth::Authorization;
use super::{push_job, secret_name, state, strategy, watch};
use crate::db::audit;
use crate::db::entities::{
    booking, calendar_connection as conn, calendar_source as source, resource,
};
use crate::platform::{OrInternal, ids, now_ms};

/// Connections one organization may have.
const MAX_CONNECTIONS: u64 = 20;
/// Upcoming bookings written to a newly chosen calendar at once.
const MAX_BACKFILL: u64 = 5000;

/// A connection about to be made: the account, its calendars as (remote id, name,
/// counts as busy), where bookings go, and the secret the vault keeps for it.
pub(super) struct NewConnection<'a> {
    pub provider: &'static str,
    pub account: String,
    pub resource_id: Option<&'a str>,
    pub target: Option<String>,
    pub sources: Vec<(String, String, bool)>,
    pub secret: String,
    pub token_expires_at: Option<i64>,
}

impl CalendarSyncService {
    /// Where to send the user to sign in to Google.
    pub fn start_connect(&self) -> AppResult<Authorization> {
        self.oauth()?
            .authorize()
            .map_err(|e| AppError::NotConfigured {
                detail: e.to_string(),
            })
    }

    /// Google sent the user back with a code: trade it for tokens, read the account's
    /// calendars, and create (or renew) the connection. Returns its id.
    pub async fn finish_connect(
        &self,
        user: &CurrentUser,
        code: &str,
        verifier: &str,
        resource_id: Option<&str>,
    ) -> AppResult<String> {
        let oauth = self.oauth()?;
        let provider_error = |detail: String| AppError::Provider {
            provider: "Google".into(),
            detail,
        };
        let tokens = oauth
            .exchange(&self.deps.http, code, verifier)
            .await
            .map_err(|e| provider_error(e.to_string()))?;
        let calendars = self
            .deps
            .api
            .calendars(&tokens.access_token)
            .await
            .map_err(|e| provider_error(e.to_string()))?;
        let account = calendars
            .iter()
            .find(|c| c.primary)
            .map_or_else(|| "Google account".to_string(), |c| c.id.clone());
        let secret = serde_json::to_string(&tokens)
            .map_err(|e| crate::platform::internal(anyhow::anyhow!(e.to_string())))?;
        let target = calendars
            .iter()
            .find(|c| c.primary && c.writable)
            .map(|c| c.id.clone());
        let sources = calendars
            .iter()
            .map(|c| (c.id.clone(), c.summary.clone(), c.primary))
            .collect();
        self.save_connection(
            user,
            NewConnection {
                provider: "google",
                account,
                resource_id,
                target,
                sources,
                secret,
                token_expires_at: Some(tokens.expires_at),
            },
        )
        .await
    }

    /// Creates the connection (or renews one for the same account and resource) with
    /// the account's calendars, keeps its secret in the vault, queues the upcoming
    /// bookings and a first pull. Returns its id.
    pub(super) async fn save_connection(
        &self,
        user: &CurrentUser,
        new: NewConnection<'_>,
    ) -> AppResult<String> {
        let NewConnection {
            provider,
            account,
            resource_id,
            target,
            sources,
            secret,
            token_expires_at,
        } = new;
        let db = &self.db;
        if let Some(r) = resource_id {
            resource::Entity::find_by_id(r)
                .filter(resource::Column::OrganizationId.eq(&user.org_id))
                .one(db)
                .await
                .or_internal()?
                .ok_or_else(|| AppError::field("resource_id", "This resource does not exist."))?;
        }
        let existing = conn::Entity::find()
            .filter(conn::Column::OrganizationId.eq(&user.org_id))
            .filter(conn::Column::Provider.eq(provider))
            .filter(conn::Column::Account.eq(&account))
            .filter(match resource_id {
                Some(r) => conn::Column::ResourceId.eq(r),
                None => conn::Column::ResourceId.is_null(),
            })
            .one(db)
            .await
            .or_internal()?;
        let now = now_ms();
        let txn = db.begin().await.or_internal()?;
        let c = match existing {
            Some(c) => {
                // A reconnect: same connection, fresh grant.
                conn::Entity::update_many()
                    .col_expr(conn::Column::State, Expr::value(state::CONNECTED))
                    .col_expr(conn::Column::LastError, Expr::value(Option::<String>::None))
                    .col_expr(conn::Column::ErrorAt, Expr::value(Option::<i64>::None))
                    .col_expr(conn::Column::UpdatedAt, Expr::value(now))
                    .filter(conn::Column::Id.eq(&c.id))
                    .exec(&txn)
                    .await
                    .or_internal()?;
                conn::Model {
                    state: state::CONNECTED.into(),
                    ..c
                }
            }
            None => {
                let count = conn::Entity::find()
                    .filter(conn::Column::OrganizationId.eq(&user.org_id))
                    .count(&txn)
                    .await
                    .or_internal()?;
                if count >= MAX_CONNECTIONS {
                    return Err(AppError::BadRequest {
                        detail: format!(
                            "An organization can connect at most {MAX_CONNECTIONS} calendars."
                        ),
                    });
                }
                let row = conn::Model {
                    id: ids::new("ccn"),
                    organization_id: user.org_id.clone(),
                    provider: provider.into(),
                    account: account.clone(),
                    resource_id: resource_id.map(str::to_string),
                    connected_by: Some(user.user_id.clone()),
                    state: state::CONNECTED.into(),
                    target_calendar_id: target.clone(),
                    strategy: strategy::ASK.into(),
                    token_expires_at,
                    syncing_since: None,
                    last_sync_at: None,
                    last_error: None,
                    error_at: None,
                    backoff_until: None,
                    created_at: now,
                    updated_at: now,
                };
                let active: conn::ActiveModel = row.clone().into();
                conn::Entity::insert(active)
                    .exec_without_returning(&txn)
                    .await
                    .or_internal()?;
                row
            }
        };
        // The account's calendars as they are now; choices made before are kept.
        let known: Vec<String> = source::Entity::find()
            .select_only()
            .column(source::Column::RemoteId)
            .filter(source::Column::ConnectionId.eq(&c.id))
            .into_tuple()
            .all(&txn)
            .await
            .or_internal()?;
        let fresh: Vec<source::ActiveModel> = sources
            .into_iter()
            .filter(|(id, _, _)| !known.contains(id))
            .map(|(remote_id, summary, busy)| source::ActiveModel {
                id: Set(ids::new("csr")),
                connection_id: Set(c.id.clone()),
                organization_id: Set(user.org_id.clone()),
                remote_id: Set(remote_id),
                summary: Set(summary),
                busy: Set(busy),
                sync_token: Set(None),
                channel_id: Set(None),
                channel_token_hash: Set(None),
                channel_resource_id: Set(None),
                channel_expires_at: Set(None),
                last_synced_at: Set(None),
            })
            .collect();
        if !fresh.is_empty() {
            source::Entity::insert_many(fresh)
                .exec_without_returning(&txn)
                .await
                .or_internal()?;
        }
        self.deps
            .vault
            .put(&txn, &c.organization_id, &secret_name(&c.id), &secret)
            .await
            .map_err(|e| crate::platform::internal(anyhow::anyhow!(e.to_string())))?;
        if token_expires_at.is_some() {
            conn::Entity::update_many()
                .col_expr(conn::Column::TokenExpiresAt, Expr::value(token_expires_at))
                .filter(conn::Column::Id.eq(&c.id))
                .exec(&txn)
                .await
                .or_internal()?;
        }
        audit::record(
            &txn,
            &Actor::from(user),
            "calendar.connected",
            "calendar_connection",
            &c.id,
            json!({ "provider": provider, "account": account, "resource_id": resource_id }),
        )
        .await
        .or_internal()?;
        backfill(&txn, &c).await.or_internal()?;
        watch::request_pull(&txn, &self.hub, &user.org_id, &c.id)
            .await
            .or_internal()?;
        txn.commit().await.or_internal()?;
        self.hub.jobs_enqueued();
        announce(&self.hub, &user.org_id, &c.id);
        Ok(c.id)
    }
}

/// Bookings already ahead go to the calendar too, not only those changed from now on:
/// one push job each (a push of a booking already there writes nothing).
pub async fn backfill(
    db: &impl sea_orm::ConnectionTrait,
    c: &conn::Model,
) -> Result<usize, sea_orm::DbErr> {
    if c.target_calendar_id.is_none() {
        return Ok(0);
    }
    let mut q = booking::Entity::find()
        .select_only()
        .column(booking::Column::Id)
        .filter(booking::Column::OrganizationId.eq(&c.organization_id))
        .filter(booking::Column::EndsAt.gt(chrono::Utc::now()))
        .filter(booking::Column::Status.is_in(["pending", "confirmed"]))
        .limit(MAX_BACKFILL);
    if let Some(r) = &c.resource_id {
        q = q.filter(booking::Column::ResourceId.eq(r));
    }
    let ids: Vec<String> = q.into_tuple().all(db).await?;
    let jobs: Vec<_> = ids
        .iter()
        .map(|b| push_job(&c.organization_id, &c.id, b))
        .collect();
    crate::jobs::insert(db, &jobs).await?;
    Ok(jobs.len())
}
