use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub organization_id: String,
    /// `dashboard`, `api` or `zapier` (a REST-hook subscription).
    pub source: String,
    pub url: String,
    pub description: String,
    /// JSON array of event types; `None` means every type.
    pub event_types: Option<String>,
    /// `standard` (`{type, timestamp, data}`) or `flat`.
    pub format: String,
    /// JSON object of extra request headers.
    pub headers: String,
    pub rate_per_second: Option<i32>,
    pub max_in_flight: i32,
    pub enabled: bool,
    /// Bumped by every secret rotation; names the vault entries.
    pub secret_version: i32,
    /// Until then the previous secret also signs.
    pub previous_secret_until: Option<i64>,
    pub consecutive_failures: i32,
    pub failing_since: Option<i64>,
    pub paused_until: Option<i64>,
    pub disabled_at: Option<i64>,
    pub disabled_reason: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
