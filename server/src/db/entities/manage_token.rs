use sea_orm::entity::prelude::*;

/// A guest's private link to one booking. Only the token's SHA-256 is stored here.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "manage_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub organization_id: String,
    pub booking_id: String,
    /// Hex SHA-256 of the token.
    pub token_hash: String,
    /// Comma-separated: `view`, `reschedule`, `cancel`, `pay`.
    pub scopes: String,
    pub revoked_at: Option<i64>,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
