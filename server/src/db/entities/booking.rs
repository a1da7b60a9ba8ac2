use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bookings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub organization_id: String,
    pub resource_id: String,
    pub client_id: String,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    pub party_size: i32,
    pub status: String,
    pub notes: String,
    pub deposit_minor: i64,
    pub revision: i64,
    /// The guest asked for no reminders (from the manage page).
    pub reminders_opt_out: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Joins a booking to its guest (lists that show the guest's name or contact).
pub fn client() -> RelationDef {
    Entity::belongs_to(super::client::Entity)
        .from(Column::ClientId)
        .to(super::client::Column::Id)
        .into()
}
