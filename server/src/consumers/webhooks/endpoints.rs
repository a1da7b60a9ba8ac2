//! Endpoint management: create, change, rotate the secret, enable with replay, delete.
//! The dashboard and the REST API both come through [`crate::consumers::webhooks::manage`].
use app::error::AppError;
use app::model::webhook::EndpointInput;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
};
use serde_json::{Map, Value};
use url::Url;

use super::{fanout, headers_name, secret_name, signing};
use crate::db::entities::webhook_endpoint;
use crate::platform::outbound::{OutboundPolicy, Refusal};
use crate::platform::{OrInternal, ids, now_ms};
use crate::vault::Vault;

pub const SOURCE_DASHBOARD: &str = "dashboard";
pub const SOURCE_API: &str = "api";
pub const SOURCE_ZAPIER: &str = "zapier";
/// Deliveries to one endpoint in flight at once, across workers.
/// Only the starting point: the limit adapts (`pacing`) and lives in `job_key_limits`.
pub const DEFAULT_MAX_IN_FLIGHT: i32 = super::pacing::START as i32;
/// How long the previous secret keeps signing after a rotation.
pub const ROTATION_OVERLAP_MS: i64 = 24 * 3600 * 1000;

/// Network-level URL check on top of the shape check in `EndpointInput::validate`.
pub fn check_url(policy: &OutboundPolicy, raw: &str) -> Result<Url, AppError> {
    let url = Url::parse(raw.trim())
        .map_err(|e| AppError::field("url", format!("This is not a valid URL ({e}).")))?;
    policy.check_url(&url).map_err(|r| {
        let msg = match r {
            Refusal::NotHttps => "Use an https:// URL: Hitch runs in production mode.".to_string(),
            other => format!("{other}."),
        };
        AppError::field("url", msg)
    })?;
    Ok(url)
}

fn event_types_json(types: &[String]) -> Option<String> {
    (!types.is_empty()).then(|| serde_json::to_string(types).unwrap_or_default())
}

fn header_names(headers: &[(String, String)]) -> String {
    Value::Array(
        headers
            .iter()
            .map(|(k, _)| Value::String(k.clone()))
            .collect(),
    )
    .to_string()
}

/// Writes the endpoint and its secrets in one transaction; returns it and the secret.
pub async fn create(
    db: &DatabaseConnection,
    vault: &Vault,
    org_id: &str,
    input: &EndpointInput,
    url: &Url,
    source: &str,
) -> Result<(webhook_endpoint::Model, String), AppError> {
    let now = now_ms();
    let secret = signing::generate_secret();
    let row = webhook_endpoint::Model {
        id: ids::new("whe"),
        organization_id: org_id.into(),
        source: source.into(),
        url: url.to_string(),
        description: input.description.trim().into(),
        event_types: event_types_json(&input.event_types),
        format: input.format.clone(),
        headers: header_names(&input.headers),
        rate_per_second: input.rate_per_second.map(|r| r as i32),
        max_in_flight: DEFAULT_MAX_IN_FLIGHT,
        enabled: input.enabled,
        secret_version: 1,
        previous_secret_until: None,
        consecutive_failures: 0,
        failing_since: None,
        paused_until: None,
        disabled_at: None,
        disabled_reason: None,
        created_at: now,
        updated_at: now,
    };
    let txn = crate::db::begin_write(db).await.or_internal()?;
    webhook_endpoint::Entity::insert(webhook_endpoint::ActiveModel::from(row.clone()))
        .exec_without_returning(&txn)
        .await
        .or_internal()?;
    vault
        .put(&txn, org_id, &secret_name(&row.id, 1), &secret)
        .await
        .or_internal()?;
    put_headers(&txn, vault, org_id, &row.id, &input.headers).await?;
    txn.commit().await.or_internal()?;
    fanout::forget(org_id);
    Ok((row, secret))
}

async fn put_headers(
    db: &impl ConnectionTrait,
    vault: &Vault,
    org_id: &str,
    id: &str,
    headers: &[(String, String)],
) -> Result<(), AppError> {
    if headers.is_empty() {
        vault
            .delete(db, org_id, &headers_name(id))
            .await
            .or_internal()?;
        return Ok(());
    }
    let map: Map<String, Value> = headers
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    vault
        .put(
            db,
            org_id,
            &headers_name(id),
            &Value::Object(map).to_string(),
        )
        .await
        .or_internal()?;
    Ok(())
}

/// The stored header values; the form shows them masked, so a masked value sent back
/// unchanged means "keep what is stored".
pub async fn merge_headers(
    db: &impl ConnectionTrait,
    vault: &Vault,
    ep: &webhook_endpoint::Model,
    input: &[(String, String)],
) -> Result<Vec<(String, String)>, AppError> {
    let stored: Map<String, Value> = match vault
        .get(db, &ep.organization_id, &headers_name(&ep.id))
        .await
        .or_internal()?
    {
        Some(s) => serde_json::from_str(s.expose()).unwrap_or_default(),
        None => Map::new(),
    };
    Ok(input
        .iter()
        .map(|(k, v)| {
            let kept = stored
                .get(k)
                .and_then(Value::as_str)
                .filter(|old| crate::vault::mask::mask(old) == *v);
            (k.clone(), kept.map_or_else(|| v.clone(), str::to_string))
        })
        .collect())
}

pub async fn update(
    db: &DatabaseConnection,
    vault: &Vault,
    ep: &webhook_endpoint::Model,
    input: &EndpointInput,
    url: &Url,
) -> Result<(), AppError> {
    let headers = merge_headers(db, vault, ep, &input.headers).await?;
    let txn = crate::db::begin_write(db).await.or_internal()?;
    let mut row: webhook_endpoint::ActiveModel = ep.clone().into();
    row.url = Set(url.to_string());
    row.description = Set(input.description.trim().into());
    row.event_types = Set(event_types_json(&input.event_types));
    row.format = Set(input.format.clone());
    row.headers = Set(header_names(&headers));
    row.rate_per_second = Set(input.rate_per_second.map(|r| r as i32));
    if input.enabled != ep.enabled {
        row.enabled = Set(input.enabled);
        // Switched off by a person: not a failure to warn about.
        row.disabled_at = Set((!input.enabled).then(now_ms));
        row.disabled_reason = Set(None);
    }
    row.updated_at = Set(now_ms());
    match webhook_endpoint::Entity::update(row).exec(&txn).await {
        // Deleted since it was read (another request, another tab): gone, not a fault.
        Err(sea_orm::DbErr::RecordNotUpdated) => {
            return Err(AppError::not_found("webhook endpoint"));
        }
        other => other.or_internal()?,
    };
    put_headers(&txn, vault, &ep.organization_id, &ep.id, &headers).await?;
    txn.commit().await.or_internal()?;
    fanout::forget(&ep.organization_id);
    Ok(())
}

/// A new current secret; the previous keeps signing for [`ROTATION_OVERLAP_MS`].
pub async fn rotate(
    db: &DatabaseConnection,
    vault: &Vault,
    ep: &webhook_endpoint::Model,
) -> Result<String, AppError> {
    let secret = signing::generate_secret();
    let next = ep.secret_version + 1;
    let txn = crate::db::begin_write(db).await.or_internal()?;
    vault
        .put(
            &txn,
            &ep.organization_id,
            &secret_name(&ep.id, next),
            &secret,
        )
        .await
        .or_internal()?;
    // Two versions live at most: the new one and the one still overlapping.
    vault
        .delete(
            &txn,
            &ep.organization_id,
            &secret_name(&ep.id, ep.secret_version - 1),
        )
        .await
        .or_internal()?;
    webhook_endpoint::Entity::update_many()
        .col_expr(webhook_endpoint::Column::SecretVersion, next.into())
        .col_expr(
            webhook_endpoint::Column::PreviousSecretUntil,
            (now_ms() + ROTATION_OVERLAP_MS).into(),
        )
        .col_expr(webhook_endpoint::Column::UpdatedAt, now_ms().into())
        .filter(webhook_endpoint::Column::Id.eq(&ep.id))
        .filter(webhook_endpoint::Column::SecretVersion.eq(ep.secret_version))
        .exec(&txn)
        .await
        .or_internal()?;
    txn.commit().await.or_internal()?;
    Ok(secret)
}

pub async fn delete(
    db: &DatabaseConnection,
    vault: &Vault,
    ep: &webhook_endpoint::Model,
) -> Result<(), AppError> {
    let txn = crate::db::begin_write(db).await.or_internal()?;
    webhook_endpoint::Entity::delete_by_id(&ep.id)
        .exec(&txn)
        .await
        .or_internal()?;
    crate::jobs::key_limits::remove(&txn, &super::lane_key(&ep.id))
        .await
        .or_internal()?;
    for name in [
        secret_name(&ep.id, ep.secret_version),
        secret_name(&ep.id, ep.secret_version - 1),
        headers_name(&ep.id),
    ] {
        vault
            .delete(&txn, &ep.organization_id, &name)
            .await
            .or_internal()?;
    }
    txn.commit().await.or_internal()?;
    fanout::forget(&ep.organization_id);
    Ok(())
}
