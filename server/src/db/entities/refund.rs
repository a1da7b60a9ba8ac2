use sea_orm::entity::prelude::*;

/// A refund asked of Stripe from the dashboard or the API.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refunds")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub organization_id: String,
    pub payment_link_id: String,
    pub stripe_refund_id: Option<String>,
    pub amount_minor: i64,
    pub reason: String,
    /// Stripe's refund status: `pending`, `succeeded`, `failed`, `canceled`.
    pub status: String,
    pub created_by: Option<String>,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
