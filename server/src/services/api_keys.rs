//! Organization API keys: random, shown once, stored as SHA-256, revocable.
use app::model::api_scope::ApiScope;
use app::model::auth::{CurrentUser, Role};
use chrono::{DateTime, Utc};
use rand::distr::{Alphanumeric, SampleString};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};

use crate::db::entities::{api_key, organization};
use crate::platform::ids;

/// Every key starts with this, so scanners and people recognise a Hitch key.
pub const PREFIX: &str = "hk_live_";

pub fn hash(key: &str) -> String {
    crate::platform::hash::sha256_hex(key)
}

/// Creates a key; the returned plaintext is the only copy that will ever exist.
pub async fn create(
    db: &impl ConnectionTrait,
    org_id: &str,
    name: &str,
    created_by: &str,
    scope: ApiScope,
) -> Result<(api_key::Model, String), DbErr> {
    let secret = format!(
        "{PREFIX}{}",
        Alphanumeric.sample_string(&mut rand::rng(), 40)
    );
    let row = api_key::Model {
        id: ids::new("key"),
        organization_id: org_id.into(),
        name: name.trim().chars().take(100).collect(),
        prefix: secret[..PREFIX.len() + 6].to_string(),
        key_hash: hash(&secret),
        scope: scope.as_str().into(),
        created_by: created_by.into(),
        created_at: Utc::now(),
        last_used_at: None,
        revoked_at: None,
    };
    api_key::Entity::insert(api_key::ActiveModel {
        id: Set(row.id.clone()),
        organization_id: Set(row.organization_id.clone()),
        name: Set(row.name.clone()),
        prefix: Set(row.prefix.clone()),
        key_hash: Set(row.key_hash.clone()),
        scope: Set(row.scope.clone()),
        created_by: Set(row.created_by.clone()),
        created_at: Set(row.created_at),
        last_used_at: Set(None),
        revoked_at: Set(None),
    })
    .exec_without_returning(db)
    .await?;
    Ok((row, secret))
}

pub async fn list(db: &impl ConnectionTrait, org_id: &str) -> Result<Vec<api_key::Model>, DbErr> {
    api_key::Entity::find()
        .filter(api_key::Column::OrganizationId.eq(org_id))
        .order_by_desc(api_key::Column::CreatedAt)
        .all(db)
        .await
}

pub async fn revoke(db: &impl ConnectionTrait, org_id: &str, id: &str) -> Result<bool, DbErr> {
    let res = api_key::Entity::update_many()
        .col_expr(api_key::Column::RevokedAt, Some(Utc::now()).into())
        .filter(api_key::Column::Id.eq(id))
        .filter(api_key::Column::OrganizationId.eq(org_id))
        .filter(api_key::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

/// The key and its organization, if `presented` is a live key.
pub async fn authenticate(
    db: &impl ConnectionTrait,
    presented: &str,
) -> Result<Option<(api_key::Model, organization::Model)>, DbErr> {
    if !presented.starts_with(PREFIX) {
        return Ok(None);
    }
    let Some(key) = api_key::Entity::find()
        .filter(api_key::Column::KeyHash.eq(hash(presented)))
        .filter(api_key::Column::RevokedAt.is_null())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let org = organization::Entity::find_by_id(&key.organization_id)
        .one(db)
        .await?;
    Ok(org.map(|o| (key, o)))
}

/// Records use at most once a minute per key, so reads stay reads.
pub async fn touch(
    db: &impl ConnectionTrait,
    key: &api_key::Model,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    if key
        .last_used_at
        .is_some_and(|t| now - t < chrono::Duration::minutes(1))
    {
        return Ok(());
    }
    api_key::Entity::update_many()
        .col_expr(api_key::Column::LastUsedAt, Some(now).into())
        .filter(api_key::Column::Id.eq(&key.id))
        .exec(db)
        .await?;
    Ok(())
}

/// The identity the services see for a request made with `key`. Its `user_id` is the
/// key's `key_` id, which the audit log records as an API key.
pub fn as_user(key: &api_key::Model, org: &organization::Model) -> CurrentUser {
    CurrentUser {
        user_id: key.id.clone(),
        org_id: org.id.clone(),
        org_name: org.name.clone(),
        time_zone: org.time_zone.clone(),
        currency: org.currency.clone(),
        name: key.name.clone(),
        email: format!("API key {} ({})", key.name, key.prefix),
        role: Role::Admin,
    }
}
