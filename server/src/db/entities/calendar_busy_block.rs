use sea_orm::entity::prelude::*;

/// Time taken in a connected calendar. Only the times are kept, never the title.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "calendar_busy_blocks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub organization_id: String,
    pub connection_id: String,
    pub source_id: String,
    /// The resource it blocks; every resource of the organization when empty.
    pub resource_id: Option<String>,
    pub remote_event_id: String,
    pub starts_at: i64,
    pub ends_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
