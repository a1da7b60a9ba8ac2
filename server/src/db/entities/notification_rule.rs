use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notification_rules")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub organization_id: String,
    /// A domain event type, or `booking.reminder` (with `remind_hours`).
    pub event_type: String,
    pub channel_id: String,
    /// `team`, `guest`, `client` or `managers`.
    pub recipient: String,
    pub remind_hours: Option<i32>,
    pub enabled: bool,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
