//! Calendars: the dashboard's day and week view ([`agenda`]) and calendar feeds,
//! private `.ics` links for the whole organization or one resource, with full details
//! or busy times only. A token is 32 random bytes, looked up by its
//! SHA-256 and kept encrypted in the vault so managers can copy the link again.
//! [`feed_serve`] answers the calendar apps; [`feed_build`] writes the feed.
pub mod agenda;
pub mod feed_build;
pub mod feed_serve;

use app::error::AppError;
use app::model::auth::{Actor, CurrentUser};
use app::model::calendar::{Agenda, AgendaQuery, FeedInput, FeedView};
use app::ports::{AppResult, CalendarPort};
use async_trait::async_trait;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    sea_query::Expr,
};
use serde_json::json;

use crate::db::audit;
use crate::db::entities::{calendar_feed, resource};
use crate::platform::access::require_manager;
use crate::platform::clock::{Style, local_ms, tz_named};
use crate::platform::{Change, Hub, OrInternal, ids, now_ms};
use crate::vault::Vault;

/// Feeds one organization may have, so links cannot be minted without end.
pub const MAX_FEEDS: usize = 50;

pub struct CalendarService {
    pub db: DatabaseConnection,
    pub vault: Vault,
    pub hub: Hub,
    pub public_url: String,
    pub server: feed_serve::FeedServer,
}

fn vault_name(feed_id: &str) -> String {
    format!("feed:{feed_id}")
}

pub fn hash(token: &str) -> String {
    crate::platform::hash::sha256_hex(token)
}

pub fn url(public_url: &str, token: &str) -> String {
    format!("{}/feeds/{token}.ics", public_url.trim_end_matches('/'))
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

pub fn state(f: &calendar_feed::Model, now: i64) -> &'static str {
    if f.revoked_at.is_some() {
        "revoked"
    } else if f.expires_at.is_some_and(|e| e <= now) {
        "expired"
    } else {
        "active"
    }
}

impl CalendarService {
    async fn find(&self, user: &CurrentUser, id: &str) -> AppResult<calendar_feed::Model> {
        calendar_feed::Entity::find_by_id(id)
            .filter(calendar_feed::Column::OrganizationId.eq(&user.org_id))
            .one(&self.db)
            .await
            .or_internal()?
            .ok_or_else(|| AppError::not_found("calendar feed"))
    }

    async fn view(&self, user: &CurrentUser, f: &calendar_feed::Model) -> AppResult<FeedView> {
        let tz = tz_named(&user.time_zone);
        let scope = match &f.resource_id {
            None => "All resources".to_string(),
            Some(r) => resource::Entity::find_by_id(r)
                .one(&self.db)
                .await
                .or_internal()?
                .map(|r| r.name)
                .unwrap_or_else(|| "A deleted resource".into()),
        };
        let state = state(f, now_ms());
        let url = if state == "revoked" {
            String::new()
        } else {
            self.vault
                .get(&self.db, &f.organization_id, &vault_name(&f.id))
                .await
                .or_internal()?
                .map(|t| url(&self.public_url, t.expose()))
                .unwrap_or_default()
        };
        Ok(FeedView {
            id: f.id.clone(),
            label: f.label.clone(),
            resource_id: f.resource_id.clone(),
            scope,
            privacy: f.privacy.clone(),
            url,
            state: state.into(),
            expires: f.expires_at.map(|e| local_ms(e, tz, Style::Stamp)),
            created: local_ms(f.created_at, tz, Style::Stamp),
            last_fetched: f.last_fetched_at.map(|t| local_ms(t, tz, Style::Stamp)),
            expires_at: f.expires_at.map(rfc3339),
            created_at: rfc3339(f.created_at),
            last_fetched_at: f.last_fetched_at.map(rfc3339),
        })
    }

    /// Audits a change to a feed's link, commits it, and tells every process to stop
    /// serving the old link now.
    async fn finish(
        &self,
        txn: sea_orm::DatabaseTransaction,
        user: &CurrentUser,
        f: &calendar_feed::Model,
        action: &str,
    ) -> AppResult<()> {
        audit::record(
            &txn,
            &Actor::from(user),
            action,
            "calendar_feed",
            &f.id,
            json!({ "label": f.label }),
        )
        .await
        .or_internal()?;
        txn.commit().await.or_internal()?;
        self.server.forget(&f.id);
        self.hub.change(Change {
            org_id: f.organization_id.clone(),
            entity_kind: feed_serve::FEED_KIND.into(),
            entity_id: f.id.clone(),
            event_type: action.into(),
        });
        Ok(())
    }
}

#[async_trait]
impl CalendarPort for CalendarService {
    async fn agenda(&self, user: &CurrentUser, query: &AgendaQuery) -> AppResult<Agenda> {
        agenda::agenda(&self.db, user, query).await
    }

    async fn feeds(&self, user: &CurrentUser) -> AppResult<Vec<FeedView>> {
        require_manager(user)?;
        let rows = calendar_feed::Entity::find()
            .filter(calendar_feed::Column::OrganizationId.eq(&user.org_id))
            .filter(calendar_feed::Column::RevokedAt.is_null())
            .order_by_desc(calendar_feed::Column::CreatedAt)
            .all(&self.db)
            .await
            .or_internal()?;
        let mut out = Vec::with_capacity(rows.len());
        for f in &rows {
            out.push(self.view(user, f).await?);
        }
        Ok(out)
    }

    async fn create_feed(&self, user: &CurrentUser, input: &FeedInput) -> AppResult<FeedView> {
        require_manager(user)?;
        input.validate()?;
        if let Some(r) = &input.resource_id {
            resource::Entity::find_by_id(r)
                .filter(resource::Column::OrganizationId.eq(&user.org_id))
                .one(&self.db)
                .await
                .or_internal()?
                .ok_or_else(|| AppError::field("resource_id", "No such resource."))?;
        }
        let live = calendar_feed::Entity::find()
            .filter(calendar_feed::Column::OrganizationId.eq(&user.org_id))
            .filter(calendar_feed::Column::RevokedAt.is_null())
            .count(&self.db)
            .await
            .or_internal()?;
        if live >= MAX_FEEDS as u64 {
            return Err(AppError::field(
                "label",
                format!(
                    "An organization may have {MAX_FEEDS} feeds; revoke one you no longer use."
                ),
            ));
        }
        let token = crate::platform::hash::random_token();
        let now = now_ms();
        let row = calendar_feed::Model {
            id: ids::new("feed"),
            organization_id: user.org_id.clone(),
            resource_id: input.resource_id.clone(),
            label: input.label.trim().to_string(),
            privacy: input.privacy.clone(),
            token_hash: hash(&token),
            expires_at: input
                .expires_in_days
                .map(|d| now + i64::from(d) * 86_400_000),
            revoked_at: None,
            created_by: Some(user.user_id.clone()),
            created_at: now,
            last_fetched_at: None,
        };
        let txn = crate::db::begin_write(&self.db).await.or_internal()?;
        calendar_feed::Entity::insert(calendar_feed::ActiveModel::from(row.clone()))
            .exec_without_returning(&txn)
            .await
            .or_internal()?;
        self.vault
            .put(&txn, &user.org_id, &vault_name(&row.id), &token)
            .await
            .or_internal()?;
        audit::record(
            &txn,
            &Actor::from(user),
            "calendar_feed.created",
            "calendar_feed",
            &row.id,
            json!({ "label": row.label, "privacy": row.privacy, "resource_id": row.resource_id }),
        )
        .await
        .or_internal()?;
        txn.commit().await.or_internal()?;
        self.view(user, &row).await
    }

    async fn revoke_feed(&self, user: &CurrentUser, id: &str) -> AppResult<()> {
        require_manager(user)?;
        let f = self.find(user, id).await?;
        if f.revoked_at.is_some() {
            return Ok(());
        }
        let txn = crate::db::begin_write(&self.db).await.or_internal()?;
        calendar_feed::Entity::update_many()
            .col_expr(calendar_feed::Column::RevokedAt, Expr::value(now_ms()))
            .filter(calendar_feed::Column::Id.eq(id))
            .exec(&txn)
            .await
            .or_internal()?;
        self.vault
            .delete(&txn, &user.org_id, &vault_name(id))
            .await
            .or_internal()?;
        self.finish(txn, user, &f, "calendar_feed.revoked").await
    }

    async fn rotate_feed(&self, user: &CurrentUser, id: &str) -> AppResult<FeedView> {
        require_manager(user)?;
        let mut f = self.find(user, id).await?;
        if f.revoked_at.is_some() {
            return Err(AppError::InvalidTransition {
                detail: "This feed was revoked; create a new one.".into(),
            });
        }
        let token = crate::platform::hash::random_token();
        f.token_hash = hash(&token);
        let txn = crate::db::begin_write(&self.db).await.or_internal()?;
        calendar_feed::Entity::update_many()
            .col_expr(calendar_feed::Column::TokenHash, Expr::value(&f.token_hash))
            .filter(calendar_feed::Column::Id.eq(id))
            .exec(&txn)
            .await
            .or_internal()?;
        self.vault
            .put(&txn, &user.org_id, &vault_name(id), &token)
            .await
            .or_internal()?;
        self.finish(txn, user, &f, "calendar_feed.rotated").await?;
        self.view(user, &f).await
    }
}
