use sea_orm::entity::prelude::*;

/// An organization's own template; without one, Hitch's default for the pair applies.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notification_templates")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub organization_id: String,
    /// A domain event type, or `booking.reminder`.
    pub event_type: String,
    /// `slack`, `discord`, `email` or `sms`.
    pub family: String,
    /// Email subject, Slack header, Discord embed title; unused for SMS.
    pub subject: String,
    pub body: String,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
