//! Guest manage links: a token is 32 random bytes, looked up by its SHA-256 and kept
//! encrypted in the vault so staff (and messages) can show the link again. Issuing a
//! new one revokes the earlier ones.
use app::model::auth::Actor;
use app::ports::AppResult;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::json;

use crate::db::audit;
use crate::db::entities::{booking, manage_token};
use crate::platform::{OrInternal, ids, now_ms};
use app::error::AppError;
use app::model::portal::SCOPES;

pub(crate) fn vault_name(booking_id: &str) -> String {
    format!("manage:{booking_id}")
}

pub fn hash(token: &str) -> String {
    crate::platform::hash::sha256_hex(token)
}

/// A fresh token for `booking_id`, revoking earlier ones. Returns the link.
pub(crate) async fn issue_token(
    db: &sea_orm::DatabaseConnection,
    vault: &crate::vault::Vault,
    public_url: &str,
    actor: &Actor,
    booking_id: &str,
) -> AppResult<String> {
    booking::Entity::find_by_id(booking_id)
        .filter(booking::Column::OrganizationId.eq(&actor.org_id))
        .one(db)
        .await
        .or_internal()?
        .ok_or_else(|| AppError::not_found("booking"))?;
    let token = crate::platform::hash::random_token();
    let now = now_ms();
    let id = ids::new("mt");
    let txn = crate::db::begin_write(db).await.or_internal()?;
    manage_token::Entity::update_many()
        .col_expr(manage_token::Column::RevokedAt, Expr::value(now))
        .filter(manage_token::Column::BookingId.eq(booking_id))
        .filter(manage_token::Column::RevokedAt.is_null())
        .exec(&txn)
        .await
        .or_internal()?;
    manage_token::Entity::insert(manage_token::ActiveModel {
        id: Set(id.clone()),
        organization_id: Set(actor.org_id.clone()),
        booking_id: Set(booking_id.into()),
        token_hash: Set(hash(&token)),
        scopes: Set(SCOPES.join(",")),
        revoked_at: Set(None),
        created_by: Set(Some(actor.id.clone())),
        created_at: Set(now),
        last_used_at: Set(None),
    })
    .exec_without_returning(&txn)
    .await
    .or_internal()?;
    vault
        .put(&txn, &actor.org_id, &vault_name(booking_id), &token)
        .await
        .or_internal()?;
    audit::record(
        &txn,
        actor,
        "guest_link.issued",
        "booking",
        booking_id,
        json!({ "token": id }),
    )
    .await
    .or_internal()?;
    txn.commit().await.or_internal()?;
    Ok(link(public_url, &token))
}

pub(crate) fn link(public_url: &str, token: &str) -> String {
    format!("{}/manage/{token}", public_url.trim_end_matches('/'))
}

/// The guest's current link for a message about the booking: the one already issued
/// if it still works, else a new one issued by the system (audited as such).
pub async fn message_link(
    db: &sea_orm::DatabaseConnection,
    vault: &crate::vault::Vault,
    public_url: &str,
    org_id: &str,
    booking_id: &str,
) -> AppResult<String> {
    if let Some(token) = vault
        .get(db, org_id, &vault_name(booking_id))
        .await
        .or_internal()?
    {
        let live = manage_token::Entity::find()
            .filter(manage_token::Column::TokenHash.eq(hash(token.expose())))
            .filter(manage_token::Column::BookingId.eq(booking_id))
            .filter(manage_token::Column::RevokedAt.is_null())
            .one(db)
            .await
            .or_internal()?;
        if live.is_some() {
            return Ok(link(public_url, token.expose()));
        }
    }
    let system = Actor {
        org_id: org_id.into(),
        kind: app::model::auth::ActorKind::System,
        id: "notifications".into(),
        label: "Notifications".into(),
    };
    issue_token(db, vault, public_url, &system, booking_id).await
}
