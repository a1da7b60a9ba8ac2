use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notification_channels")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub organization_id: String,
    /// `slack`, `discord`, `smtp`, `sendgrid` or `twilio`.
    pub kind: String,
    pub name: String,
    /// JSON of the settings that are not secret (host, port, sender, team address).
    pub settings: String,
    /// The masked form of the channel's secret (URL, password, API key, token).
    pub secret_hint: String,
    pub enabled: bool,
    /// Sends allowed per calendar month (UTC); `None` is unlimited.
    pub monthly_quota: Option<i32>,
    pub consecutive_failures: i32,
    /// The circuit is open until then: sends wait instead of hammering a dead channel.
    pub paused_until: Option<i64>,
    /// Set when the provider said the channel no longer exists or refuses our key.
    pub broken_at: Option<i64>,
    pub broken_reason: Option<String>,
    pub last_success_at: Option<i64>,
    pub last_failure_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
