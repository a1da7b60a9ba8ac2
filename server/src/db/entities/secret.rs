use sea_orm::entity::prelude::*;

/// One vault entry: the value sealed under its own data key, which is wrapped by the
/// master key named in `key_id`. `hint` is the masked form safe to show.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "secrets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub organization_id: String,
    pub name: String,
    pub key_id: String,
    pub wrapped_key: String,
    pub ciphertext: String,
    pub hint: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
