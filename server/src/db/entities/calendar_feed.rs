use sea_orm::entity::prelude::*;

/// A private `.ics` link. Only the token's SHA-256 is stored here.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "calendar_feeds")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub organization_id: String,
    /// One resource's bookings, or the whole organization's when empty.
    pub resource_id: Option<String>,
    pub label: String,
    /// `full` or `busy` (free/busy only).
    pub privacy: String,
    /// Hex SHA-256 of the token.
    pub token_hash: String,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub last_fetched_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
