use sea_orm::entity::prelude::*;

/// One message to one recipient on one channel, with what was sent and what came back.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub organization_id: String,
    pub channel_id: String,
    pub rule_id: Option<String>,
    pub event_id: Option<String>,
    /// The event type it tells about (`booking.reminder`, `test` included).
    pub event_type: String,
    /// The booking, invoice or client it is about.
    pub entity_id: String,
    pub recipient_kind: String,
    /// Email address or phone number once resolved; masked wherever it is shown.
    pub recipient: Option<String>,
    /// `pending`, `sending`, `sent`, `failed` or `skipped`.
    pub status: String,
    pub skip_reason: Option<String>,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub provider_status: Option<i32>,
    pub provider_response: Option<String>,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub send_at: i64,
    /// For a reminder: the booking start it was computed from.
    pub scheduled_for: Option<i64>,
    pub job_id: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub sent_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
