use sea_orm::entity::prelude::*;

/// A Stripe Checkout Session for an invoice or a booking deposit.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payment_links")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub organization_id: String,
    /// `invoice` or `deposit` (then `subject_id` is the booking's id).
    pub subject_kind: String,
    pub subject_id: String,
    pub session_id: String,
    pub url: String,
    pub amount_minor: i64,
    pub currency: String,
    /// `active`, `completed`, `expired` or `cancelled`.
    pub status: String,
    /// Stripe's `payment_status`: `unpaid`, `paid`, `no_payment_required`, or our
    /// `failed` when a delayed payment method failed.
    pub payment_status: String,
    pub payment_intent_id: Option<String>,
    pub refunded_minor: i64,
    /// The last failed payment attempt's message, for staff.
    pub last_error: Option<String>,
    pub expires_at: i64,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub completed_at: Option<i64>,
    /// When reconciliation last asked Stripe about it.
    pub checked_at: Option<i64>,
    /// When Stripe refused to say how the link stands; reconciliation stops asking.
    pub check_refused_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
