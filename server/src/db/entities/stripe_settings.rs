use sea_orm::entity::prelude::*;

/// An organization's Stripe account as last checked; the keys live in the vault.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stripe_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: String,
    /// From the secret key's prefix: `sk_live_` / `rk_live_`.
    pub livemode: bool,
    pub account_id: Option<String>,
    pub account_name: Option<String>,
    /// Last "test connection" (or key save), and what went wrong if it failed.
    pub checked_at: Option<i64>,
    pub check_error: Option<String>,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
