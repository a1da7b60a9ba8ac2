use sea_orm::entity::prelude::*;

/// A unit of durable work; times are milliseconds since the epoch.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub kind: String,
    pub organization_id: Option<String>,
    pub concurrency_key: Option<String>,
    pub concurrency_limit: Option<i32>,
    pub payload: String,
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: i64,
    pub locked_by: Option<String>,
    pub locked_at: Option<i64>,
    pub locked_until: Option<i64>,
    /// How long a claim lasts: the kind's timeout plus a grace period.
    pub lease_ms: i64,
    /// Set when a claim found the job still running under an expired lease.
    pub lost_by: Option<String>,
    pub lost_at: Option<i64>,
    pub last_error: Option<String>,
    pub last_reason: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
