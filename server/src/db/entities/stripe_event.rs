use sea_orm::entity::prelude::*;

/// One inbound Stripe event, stored once however often Stripe sends it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stripe_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub organization_id: String,
    /// Stripe's `evt_…` id.
    pub stripe_id: String,
    pub event_type: String,
    /// Stripe's `created` (unix seconds).
    pub created: i64,
    pub livemode: bool,
    pub payload: String,
    pub received_at: i64,
    pub processed_at: Option<i64>,
    /// What processing did (`applied`, `ignored: …`), for the dashboard.
    pub outcome: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
