use sea_orm::entity::prelude::*;

/// A provider account (Google, CalDAV) whose calendars sync with Hitch. Its tokens or
/// password live in the vault under `calendar:{id}`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "calendar_connections")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub organization_id: String,
    /// `google` or `caldav`.
    pub provider: String,
    /// The account as people know it (an email address).
    pub account: String,
    /// Bookings of one resource, and busy time blocking it; every resource when empty.
    pub resource_id: Option<String>,
    pub connected_by: Option<String>,
    /// `connected` or `reconnect_needed`.
    pub state: String,
    /// The remote calendar bookings are written to; none: pull busy time only.
    pub target_calendar_id: Option<String>,
    /// Who wins a conflict: `hitch`, `calendar` or `ask`.
    pub strategy: String,
    pub token_expires_at: Option<i64>,
    pub syncing_since: Option<i64>,
    pub last_sync_at: Option<i64>,
    pub last_error: Option<String>,
    pub error_at: Option<i64>,
    /// The provider asked us to slow down: no calls before this.
    pub backoff_until: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
