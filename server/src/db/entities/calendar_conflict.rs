use sea_orm::entity::prelude::*;

/// A booking's event was moved or deleted in the calendar (or changed on both sides),
/// and what was decided.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "calendar_conflicts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub organization_id: String,
    pub connection_id: String,
    pub booking_id: String,
    /// `moved` or `deleted`.
    pub kind: String,
    pub remote_starts_at: Option<i64>,
    pub remote_ends_at: Option<i64>,
    /// `open`, `accepted` (the calendar's version applied), `rejected` (Hitch's kept),
    /// or `superseded` (the booking changed since).
    pub status: String,
    pub detail: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
