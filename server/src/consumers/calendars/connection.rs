//! One connection as the jobs use it: loading it, a fresh access token (refreshed a
//! couple of minutes before expiry), and recording how its last call went: an error, a
//! back-off Google asked for, or "reconnect needed" when the grant is gone.
use std::time::Duration;

use app::model::auth::{CurrentUser, Role};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, sea_query::Expr,
};

use super::google::ApiError;
use super::oauth::{OAuthError, Tokens};
use super::{Deps, secret_name, state};
use crate::db::entities::calendar_connection as conn;
use crate::jobs::{JobError, Reason};
use crate::platform::now_ms;

/// Refresh this long before the access token expires.
const REFRESH_MARGIN_MS: i64 = 120_000;

pub async fn load(db: &impl ConnectionTrait, id: &str) -> Result<Option<conn::Model>, JobError> {
    Ok(conn::Entity::find_by_id(id).one(db).await?)
}

/// The connection acting as a user: the audit log names it, the booking rules apply.
pub fn actor(c: &conn::Model) -> CurrentUser {
    CurrentUser {
        user_id: c.id.clone(),
        org_id: c.organization_id.clone(),
        org_name: String::new(),
        time_zone: String::new(),
        currency: String::new(),
        name: format!("Google Calendar ({})", c.account),
        email: format!("Google Calendar ({})", c.account),
        role: Role::Admin,
    }
}

pub async fn store_tokens(
    deps: &Deps,
    db: &impl ConnectionTrait,
    c: &conn::Model,
    t: &Tokens,
) -> Result<(), JobError> {
    let json =
        serde_json::to_string(t).map_err(|e| JobError::Fatal(Reason::Invalid, e.to_string()))?;
    deps.vault
        .put(db, &c.organization_id, &secret_name(&c.id), &json)
        .await
        .map_err(|e| JobError::Retry(Reason::Database, e.to_string()))?;
    conn::Entity::update_many()
        .col_expr(conn::Column::TokenExpiresAt, Expr::value(t.expires_at))
        .filter(conn::Column::Id.eq(&c.id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn tokens(
    deps: &Deps,
    db: &impl ConnectionTrait,
    c: &conn::Model,
) -> Result<Tokens, JobError> {
    let secret = deps
        .vault
        .get(db, &c.organization_id, &secret_name(&c.id))
        .await
        .map_err(|e| JobError::Retry(Reason::Database, e.to_string()))?
        .ok_or_else(|| JobError::Fatal(Reason::Invalid, "the connection has no tokens".into()))?;
    serde_json::from_str(secret.expose())
        .map_err(|_| JobError::Fatal(Reason::Invalid, "the stored tokens are unreadable".into()))
}

/// A usable access token; refreshes it when it is about to expire, or when `force`
/// (Google answered 401 to the current one).
pub async fn access_token(
    deps: &Deps,
    db: &DatabaseConnection,
    c: &conn::Model,
    force: bool,
) -> Result<String, JobError> {
    if c.state == state::RECONNECT {
        return Err(JobError::Fatal(
            Reason::Invalid,
            "the connection must be reconnected".into(),
        ));
    }
    let t = tokens(deps, db, c).await?;
    if !force && t.expires_at - REFRESH_MARGIN_MS > now_ms() {
        return Ok(t.access_token);
    }
    let oauth = deps.oauth.as_ref().ok_or_else(|| {
        JobError::Fatal(
            Reason::Invalid,
            "this server has no Google OAuth client configured".into(),
        )
    })?;
    match oauth.refresh(&deps.http, &t.refresh_token).await {
        Ok(fresh) => {
            store_tokens(deps, db, c, &fresh).await?;
            Ok(fresh.access_token)
        }
        Err(OAuthError::InvalidGrant) => {
            reconnect_needed(db, &c.id).await?;
            announce(deps, c, "calendar_connection.reconnect_needed");
            Err(JobError::Fatal(
                Reason::Rejected,
                OAuthError::InvalidGrant.to_string(),
            ))
        }
        Err(e @ OAuthError::Unavailable(_)) => {
            Err(JobError::Retry(Reason::Unreachable, e.to_string()))
        }
        Err(e) => {
            failed(db, &c.id, &e.to_string()).await?;
            Err(JobError::Retry(Reason::Rejected, e.to_string()))
        }
    }
}

/// Tells dashboards and caches, in this process and the others, that something about
/// the connection people must see changed (a lost grant, a change to review).
pub fn announce(deps: &Deps, c: &conn::Model, what: &str) {
    deps.hub.change(crate::platform::Change {
        org_id: c.organization_id.clone(),
        entity_kind: super::subscriber::CONNECTIONS_CHANGED.into(),
        entity_id: c.id.clone(),
        event_type: what.into(),
    });
}

pub async fn reconnect_needed(db: &impl ConnectionTrait, id: &str) -> Result<(), JobError> {
    set_reconnect(
        db,
        id,
        "Google no longer accepts this connection. Reconnect it.",
    )
    .await
}

async fn set_reconnect(db: &impl ConnectionTrait, id: &str, why: &str) -> Result<(), JobError> {
    let now = now_ms();
    conn::Entity::update_many()
        .col_expr(conn::Column::State, Expr::value(state::RECONNECT))
        .col_expr(conn::Column::LastError, Expr::value(why))
        .col_expr(conn::Column::ErrorAt, Expr::value(now))
        .col_expr(conn::Column::SyncingSince, Expr::value(Option::<i64>::None))
        .col_expr(conn::Column::UpdatedAt, Expr::value(now))
        .filter(conn::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn failed(db: &impl ConnectionTrait, id: &str, error: &str) -> Result<(), JobError> {
    let now = now_ms();
    conn::Entity::update_many()
        .col_expr(
            conn::Column::LastError,
            Expr::value(error.chars().take(500).collect::<String>()),
        )
        .col_expr(conn::Column::ErrorAt, Expr::value(now))
        .col_expr(conn::Column::SyncingSince, Expr::value(Option::<i64>::None))
        .filter(conn::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Clears the error after a call that worked.
pub async fn healthy(db: &impl ConnectionTrait, id: &str) -> Result<(), JobError> {
    conn::Entity::update_many()
        .col_expr(conn::Column::LastError, Expr::value(Option::<String>::None))
        .col_expr(conn::Column::ErrorAt, Expr::value(Option::<i64>::None))
        .col_expr(conn::Column::BackoffUntil, Expr::value(Option::<i64>::None))
        .filter(conn::Column::Id.eq(id))
        .filter(
            sea_orm::Condition::any()
                .add(conn::Column::LastError.is_not_null())
                .add(conn::Column::BackoffUntil.is_not_null()),
        )
        .exec(db)
        .await?;
    Ok(())
}

/// How long to wait when Google asked for less: its `Retry-After`, else a minute.
const DEFAULT_BACKOFF: Duration = Duration::from_secs(60);

/// The job's answer to an API error, recording it on the connection. A rate limit holds
/// back every job of the connection until `backoff_until`.
pub async fn api_failure(db: &impl ConnectionTrait, c: &conn::Model, e: ApiError) -> JobError {
    let msg = e.to_string();
    // A CalDAV password changed or revoked: no retry brings it back.
    if e == ApiError::Unauthorized && c.provider == super::caldav_sync::PROVIDER {
        let _ = set_reconnect(
            db,
            &c.id,
            "The CalDAV server no longer accepts this account's password. Reconnect it.",
        )
        .await;
        return JobError::Fatal(Reason::Rejected, msg);
    }
    let out = match &e {
        ApiError::RateLimited(after) => {
            let wait = after.unwrap_or(DEFAULT_BACKOFF);
            let until = now_ms() + wait.as_millis() as i64;
            let _ = conn::Entity::update_many()
                .col_expr(conn::Column::BackoffUntil, Expr::value(until))
                .filter(conn::Column::Id.eq(&c.id))
                .exec(db)
                .await;
            JobError::RetryAfter(wait, Reason::Throttled, msg.clone())
        }
        ApiError::Unavailable(_) => JobError::Retry(Reason::Unreachable, msg.clone()),
        _ => JobError::Retry(Reason::Rejected, msg.clone()),
    };
    let _ = failed(db, &c.id, &msg).await;
    out
}

/// Jobs of a connection that Google asked to slow down wait until it may be called.
pub fn held_back(c: &conn::Model) -> Option<JobError> {
    let until = c.backoff_until?;
    let left = until - now_ms();
    (left > 0).then(|| {
        JobError::RetryAfter(
            Duration::from_millis(left as u64),
            Reason::Throttled,
            "Google asked Hitch to slow down; waiting".into(),
        )
    })
}

/// A failed step of a push or pull: Google's answer (recorded on the connection by
/// [`api_failure`]) or the job's own trouble.
pub enum SyncError {
    Api(ApiError),
    Job(JobError),
}

impl From<JobError> for SyncError {
    fn from(e: JobError) -> Self {
        SyncError::Job(e)
    }
}

impl From<ApiError> for SyncError {
    fn from(e: ApiError) -> Self {
        SyncError::Api(e)
    }
}

impl From<sea_orm::DbErr> for SyncError {
    fn from(e: sea_orm::DbErr) -> Self {
        SyncError::Job(e.into())
    }
}
