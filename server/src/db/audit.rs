//! The audit log: who changed what, written in the same transaction as the change.
use app::model::auth::Actor;
use chrono::Utc;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};

use crate::db::entities::audit_log;
use crate::platform::ids;

pub async fn record(
    db: &impl ConnectionTrait,
    actor: &Actor,
    action: &str,
    entity_kind: &str,
    entity_id: &str,
    details: serde_json::Value,
) -> Result<(), DbErr> {
    let row = audit_log::ActiveModel {
        id: Set(ids::new("aud")),
        organization_id: Set(actor.org_id.clone()),
        actor_kind: Set(actor.kind.as_str().into()),
        actor_id: Set(actor.id.clone()),
        actor_label: Set(actor.label.clone()),
        action: Set(action.into()),
        entity_kind: Set(entity_kind.into()),
        entity_id: Set(entity_id.into()),
        details: Set(details.to_string()),
        created_at: Set(Utc::now()),
    };
    audit_log::Entity::insert(row)
        .exec_without_returning(db)
        .await?;
    Ok(())
}
