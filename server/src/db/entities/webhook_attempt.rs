use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_attempts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub delivery_id: String,
    pub endpoint_id: String,
    pub attempt: i32,
    pub started_at: i64,
    pub duration_ms: i32,
    /// JSON object of the request headers as sent (signatures included).
    pub request_headers: String,
    pub status_code: Option<i32>,
    pub response_headers: Option<String>,
    /// At most 16 KiB.
    pub response_body: Option<String>,
    /// `timeout`, `connect`, `dns`, `tls`, `http_status`, `blocked` or none on success.
    pub error_class: Option<String>,
    pub error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
