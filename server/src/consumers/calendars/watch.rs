//! Google push notifications: an `events.watch` channel per pulled calendar, renewed a
//! day before it expires, and the notices Google POSTs to `/hooks/google-calendar`.
//! A notice carries no data, only "something changed": it queues a pull (one at a
//! time per connection). The periodic pull covers lost notices and expired channels.
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    sea_query::Expr,
};
use subtle::ConstantTimeEq;

use super::push::with_token;
use super::{Deps, PULL, connection, pull_job};
use crate::db::entities::{calendar_connection as conn, calendar_source as source, job};
use crate::jobs::{JobError, status as job_status};
use crate::platform::hash::{random_token, sha256_hex};
use crate::platform::{Hub, ids, now_ms};

/// Renew a channel when it has less than this left.
const RENEW_BEFORE_MS: i64 = 24 * 3600 * 1000;

/// The path Google posts notices to.
pub const PATH: &str = "/hooks/google-calendar";

/// Google sends notices only to https addresses; a plain-http address is only used for
/// a test double on this machine.
fn address(public_url: &str) -> Option<String> {
    let base = public_url.trim_end_matches('/');
    let ok = base.starts_with("https://")
        || base.starts_with("http://127.0.0.1")
        || base.starts_with("http://localhost");
    ok.then(|| format!("{base}{PATH}"))
}

/// Makes sure every pulled calendar of `c` has a live channel.
pub async fn ensure(deps: &Deps, db: &DatabaseConnection, c: &conn::Model) -> Result<(), String> {
    let Some(address) = address(&deps.public_url) else {
        return Ok(());
    };
    let sources = source::Entity::find()
        .filter(source::Column::ConnectionId.eq(&c.id))
        .all(db)
        .await
        .map_err(|e| e.to_string())?;
    let now = now_ms();
    for s in sources
        .iter()
        .filter(|s| s.busy || c.target_calendar_id.as_deref() == Some(&s.remote_id))
        .filter(|s| {
            s.channel_expires_at
                .is_none_or(|t| t - now < RENEW_BEFORE_MS)
        })
    {
        if let (Some(id), Some(rid)) = (&s.channel_id, &s.channel_resource_id) {
            let stopped: Result<(), JobError> = async {
                with_token!(deps, db, c, |t| deps.api.stop(&t, id, rid))
                    .map_err(|e| JobError::Retry(crate::jobs::Reason::Rejected, e.to_string()))
            }
            .await;
            if let Err(e) = stopped {
                tracing::debug!(error = %e, "old calendar channel not stopped");
            }
        }
        let channel_id = ids::new("gch");
        let token = random_token();
        let cal = &s.remote_id;
        let made: Result<_, JobError> = async {
            with_token!(deps, db, c, |t| deps.api.watch(
                &t,
                cal,
                &channel_id,
                &token,
                &address
            ))
            .map_err(|e| JobError::Retry(crate::jobs::Reason::Rejected, e.to_string()))
        }
        .await;
        let ch = made.map_err(|e| e.to_string())?;
        source::Entity::update_many()
            .col_expr(source::Column::ChannelId, Expr::value(channel_id))
            .col_expr(
                source::Column::ChannelTokenHash,
                Expr::value(sha256_hex(&token)),
            )
            .col_expr(
                source::Column::ChannelResourceId,
                Expr::value(ch.resource_id),
            )
            .col_expr(
                source::Column::ChannelExpiresAt,
                // Google's default is a week when it names none.
                Expr::value(ch.expires_at.unwrap_or(now + 7 * 24 * 3600 * 1000)),
            )
            .filter(source::Column::Id.eq(&s.id))
            .exec(db)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Stops the channels of a connection being removed (best effort).
pub async fn stop_all(deps: &Deps, db: &DatabaseConnection, c: &conn::Model) {
    let Ok(sources) = source::Entity::find()
        .filter(source::Column::ConnectionId.eq(&c.id))
        .filter(source::Column::ChannelId.is_not_null())
        .all(db)
        .await
    else {
        return;
    };
    let Ok(token) = connection::access_token(deps, db, c, false).await else {
        return;
    };
    for s in sources {
        if let (Some(id), Some(rid)) = (&s.channel_id, &s.channel_resource_id) {
            let _ = deps.api.stop(&token, id, rid).await;
        }
    }
}

/// What a notice turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub enum Notice {
    /// Unknown channel or wrong token.
    Refused,
    /// The channel's first message; nothing changed yet.
    Handshake,
    /// A pull was queued (or one was waiting already).
    Pulling,
}

/// Handles a notice from its headers: `X-Goog-Channel-ID`, `X-Goog-Channel-Token`,
/// `X-Goog-Resource-State`.
pub async fn receive(
    db: &DatabaseConnection,
    hub: &Hub,
    channel_id: &str,
    token: &str,
    resource_state: &str,
) -> Result<Notice, sea_orm::DbErr> {
    if channel_id.is_empty() || channel_id.len() > 64 || token.len() > 256 {
        return Ok(Notice::Refused);
    }
    let Some(s) = source::Entity::find()
        .filter(source::Column::ChannelId.eq(channel_id))
        .one(db)
        .await?
    else {
        return Ok(Notice::Refused);
    };
    let expected = s.channel_token_hash.unwrap_or_default();
    if !bool::from(sha256_hex(token).as_bytes().ct_eq(expected.as_bytes())) {
        return Ok(Notice::Refused);
    }
    if resource_state == "sync" {
        return Ok(Notice::Handshake);
    }
    request_pull(db, hub, &s.organization_id, &s.connection_id).await?;
    Ok(Notice::Pulling)
}

/// Queues a pull unless one is waiting already (a burst of notices costs one pull).
pub async fn request_pull(
    db: &impl ConnectionTrait,
    hub: &Hub,
    org_id: &str,
    connection_id: &str,
) -> Result<bool, sea_orm::DbErr> {
    let waiting = job::Entity::find()
        .filter(job::Column::Kind.eq(PULL))
        .filter(job::Column::Status.eq(job_status::QUEUED))
        .filter(job::Column::ConcurrencyKey.eq(super::lane(connection_id)))
        .count(db)
        .await?;
    if waiting > 0 {
        return Ok(false);
    }
    crate::jobs::insert(db, &[pull_job(org_id, connection_id)]).await?;
    hub.jobs_enqueued();
    Ok(true)
}
