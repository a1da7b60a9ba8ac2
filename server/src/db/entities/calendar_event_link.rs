use sea_orm::entity::prelude::*;

/// The remote event that stands for a booking in a connection's calendar, as last seen.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "calendar_event_links")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub organization_id: String,
    pub connection_id: String,
    pub booking_id: String,
    pub remote_calendar_id: String,
    pub remote_event_id: String,
    /// The etag of the version we wrote or last accepted; `If-Match` on our next write.
    pub etag: Option<String>,
    /// Hash of the event body last written, so an unchanged booking writes nothing.
    pub pushed_hash: Option<String>,
    pub remote_starts_at: Option<i64>,
    pub remote_ends_at: Option<i64>,
    pub remote_deleted: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
