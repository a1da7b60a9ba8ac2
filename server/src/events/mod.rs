//! Domain events through a transactional outbox: a change and its events are written in
//! one transaction, and the [`Hub`] announces them once that transaction has committed.
pub mod catalog;
pub mod hub;
pub mod payloads;

use chrono::Utc;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};
use serde_json::Value;

pub use catalog::EventType;
pub use hub::{Change, Hub};

use crate::db::entities::event;
use crate::services::ids;

/// An event written in the current transaction, to announce after commit.
#[derive(Clone, Debug)]
pub struct Emitted {
    pub id: String,
    pub org_id: String,
    pub event_type: EventType,
    pub entity_id: String,
    /// Webhook deliveries created with it (their jobs need a wake-up after commit).
    pub deliveries: usize,
}

/// Inserts one event and its webhook deliveries. Call it with the transaction that makes
/// the change; an event that nobody subscribes to costs exactly its own insert.
pub async fn emit(
    db: &impl ConnectionTrait,
    org_id: &str,
    event_type: EventType,
    entity_id: &str,
    data: Value,
) -> Result<Emitted, DbErr> {
    let id = ids::new("evt");
    let occurred_at = Utc::now();
    event::Entity::insert(event::ActiveModel {
        id: Set(id.clone()),
        organization_id: Set(org_id.into()),
        event_type: Set(event_type.as_str().into()),
        schema_version: Set(catalog::SCHEMA_VERSION),
        entity_kind: Set(event_type.entity_kind().into()),
        entity_id: Set(entity_id.into()),
        occurred_at: Set(occurred_at),
        payload: Set(data.to_string()),
    })
    .exec_without_returning(db)
    .await?;
    let deliveries =
        crate::webhooks::fanout::on_event(db, org_id, &id, event_type.as_str(), occurred_at, &data)
            .await?;
    Ok(Emitted {
        id,
        org_id: org_id.into(),
        event_type,
        entity_id: entity_id.into(),
        deliveries,
    })
}
