use sea_orm::entity::prelude::*;

/// One calendar of a connection's account, with where its incremental sync stands.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "calendar_sources")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub connection_id: String,
    pub organization_id: String,
    /// The provider's calendar id.
    pub remote_id: String,
    pub summary: String,
    /// Its events count as busy time.
    pub busy: bool,
    pub sync_token: Option<String>,
    /// The push channel watching it, if any; only its token's SHA-256 is kept.
    pub channel_id: Option<String>,
    pub channel_token_hash: Option<String>,
    pub channel_resource_id: Option<String>,
    pub channel_expires_at: Option<i64>,
    pub last_synced_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
