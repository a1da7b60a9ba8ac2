//! tower-sessions store over our own database, so sessions survive restarts and are
//! shared by every `hitch serve` process on the same PostgreSQL. Rows are keyed by the
//! SHA-256 of the session id ([`storage_key`]): the id itself lives only in the
//! user's cookie, so a copy of the table signs nobody in.
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    sea_query::OnConflict,
};
use tower_sessions::{
    SessionStore,
    session::{Id, Record},
    session_store::{Error, Result},
};

use crate::db::entities::session;
use crate::platform::hash::sha256_hex;

/// The row key of a session id.
pub fn storage_key(id: &Id) -> String {
    sha256_hex(&id.to_string())
}

#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: DatabaseConnection,
}

impl DbSessionStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Removes expired sessions; called periodically by the server.
    pub async fn delete_expired(&self) -> std::result::Result<u64, sea_orm::DbErr> {
        let res = session::Entity::delete_many()
            .filter(session::Column::ExpiresAt.lt(Utc::now()))
            .exec(&self.db)
            .await?;
        Ok(res.rows_affected)
    }
}

fn backend(e: impl std::fmt::Display) -> Error {
    Error::Backend(e.to_string())
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn save(&self, record: &Record) -> Result<()> {
        let data = serde_json::to_string(&record.data).map_err(|e| Error::Encode(e.to_string()))?;
        let expires_at = DateTime::<Utc>::from_timestamp(record.expiry_date.unix_timestamp(), 0)
            .ok_or_else(|| Error::Encode("expiry out of range".into()))?;
        let model = session::ActiveModel {
            id: Set(storage_key(&record.id)),
            data: Set(data),
            expires_at: Set(expires_at),
        };
        session::Entity::insert(model)
            .on_conflict(
                OnConflict::column(session::Column::Id)
                    .update_columns([session::Column::Data, session::Column::ExpiresAt])
                    .to_owned(),
            )
            .exec(&self.db)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let Some(row) = session::Entity::find_by_id(storage_key(id))
            .filter(session::Column::ExpiresAt.gt(Utc::now()))
            .one(&self.db)
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let data = serde_json::from_str(&row.data).map_err(|e| Error::Decode(e.to_string()))?;
        let expiry_date = time::OffsetDateTime::from_unix_timestamp(row.expires_at.timestamp())
            .map_err(|e| Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        session::Entity::delete_by_id(storage_key(id))
            .exec(&self.db)
            .await
            .map_err(backend)?;
        Ok(())
    }
}
