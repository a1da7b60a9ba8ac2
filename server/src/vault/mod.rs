//! The secret vault: envelope encryption with AES-256-GCM.
//!
//! Each secret is sealed under its own random data key; the data key is sealed
//! ("wrapped") under a master key whose id is stored beside it. The associated data
//! binds each ciphertext to its row, so a value copied onto another row, or a flipped
//! byte, fails to open instead of decrypting to something else.
pub mod keyring;
pub mod mask;

use std::sync::Arc;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, Key, KeyInit, Nonce};
use base64::{Engine, engine::general_purpose::STANDARD as B64};
use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, sea_query::OnConflict,
};
use zeroize::Zeroizing;

pub use keyring::{Keyring, MasterKey};
pub use mask::mask;

use crate::db::entities::secret;
use crate::platform::ids;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("database: {0}")]
    Db(#[from] DbErr),
    #[error("secret {0} was sealed with master key {1}, which this server does not have")]
    UnknownKey(String, String),
    #[error("secret {0} failed its integrity check (tampered with or corrupted)")]
    Tampered(String),
}

/// A secret in memory: wiped on drop, masked when printed.
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({})", mask(&self.0))
    }
}

#[derive(Clone)]
pub struct Vault {
    keys: Arc<Keyring>,
}

/// How many data keys a rotation re-wrapped.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rotation {
    pub rewrapped: u64,
    pub already_current: u64,
}

const NONCE: usize = 12;

fn seal(cipher: &Aes256Gcm, plain: &[u8], aad: &[u8]) -> String {
    let mut nonce = [0u8; NONCE];
    rand::fill(&mut nonce);
    // Encryption with a valid key and a 12-byte nonce cannot fail.
    let ct = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad })
        .unwrap_or_default();
    let mut out = nonce.to_vec();
    out.extend(ct);
    B64.encode(out)
}

fn open(cipher: &Aes256Gcm, sealed: &str, aad: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let raw = B64.decode(sealed).ok()?;
    if raw.len() < NONCE {
        return None;
    }
    let (nonce, ct) = raw.split_at(NONCE);
    cipher
        .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
        .ok()
        .map(Zeroizing::new)
}

fn key_aad(secret_id: &str, key_id: &str) -> Vec<u8> {
    format!("hitch:dek:{secret_id}:{key_id}").into_bytes()
}

fn value_aad(secret_id: &str, org_id: &str, name: &str) -> Vec<u8> {
    format!("hitch:secret:{secret_id}:{org_id}:{name}").into_bytes()
}

impl Vault {
    pub fn new(keys: Keyring) -> Vault {
        Vault {
            keys: Arc::new(keys),
        }
    }

    pub fn primary_key_id(&self) -> &str {
        &self.keys.primary.id
    }

    /// Stores (or replaces) the secret `name` of `org_id`; returns its masked hint.
    pub async fn put(
        &self,
        db: &impl ConnectionTrait,
        org_id: &str,
        name: &str,
        value: &str,
    ) -> Result<String, VaultError> {
        let existing = secret::Entity::find()
            .filter(secret::Column::OrganizationId.eq(org_id))
            .filter(secret::Column::Name.eq(name))
            .one(db)
            .await?;
        let id = existing.map_or_else(|| ids::new("sec"), |s| s.id);
        let mut dek = Zeroizing::new([0u8; 32]);
        rand::fill(&mut dek[..]);
        let data_cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&dek[..]));
        let primary = &self.keys.primary;
        let hint = mask(value);
        let now = Utc::now();
        let row = secret::ActiveModel {
            id: Set(id.clone()),
            organization_id: Set(org_id.into()),
            name: Set(name.into()),
            key_id: Set(primary.id.clone()),
            wrapped_key: Set(seal(&primary.cipher, &dek[..], &key_aad(&id, &primary.id))),
            ciphertext: Set(seal(
                &data_cipher,
                value.as_bytes(),
                &value_aad(&id, org_id, name),
            )),
            hint: Set(hint.clone()),
            created_at: Set(now),
            updated_at: Set(now),
        };
        secret::Entity::insert(row)
            .on_conflict(
                OnConflict::column(secret::Column::Id)
                    .update_columns([
                        secret::Column::KeyId,
                        secret::Column::WrappedKey,
                        secret::Column::Ciphertext,
                        secret::Column::Hint,
                        secret::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
        Ok(hint)
    }

    /// The plaintext of `name`, if the organization has it.
    pub async fn get(
        &self,
        db: &impl ConnectionTrait,
        org_id: &str,
        name: &str,
    ) -> Result<Option<Secret>, VaultError> {
        let Some(row) = secret::Entity::find()
            .filter(secret::Column::OrganizationId.eq(org_id))
            .filter(secret::Column::Name.eq(name))
            .one(db)
            .await?
        else {
            return Ok(None);
        };
        self.open_row(&row).map(Some)
    }

    /// The masked form, safe for pages and API responses.
    pub async fn hint(
        &self,
        db: &impl ConnectionTrait,
        org_id: &str,
        name: &str,
    ) -> Result<Option<String>, DbErr> {
        Ok(secret::Entity::find()
            .filter(secret::Column::OrganizationId.eq(org_id))
            .filter(secret::Column::Name.eq(name))
            .one(db)
            .await?
            .map(|s| s.hint))
    }

    pub async fn delete(
        &self,
        db: &impl ConnectionTrait,
        org_id: &str,
        name: &str,
    ) -> Result<bool, DbErr> {
        let res = secret::Entity::delete_many()
            .filter(secret::Column::OrganizationId.eq(org_id))
            .filter(secret::Column::Name.eq(name))
            .exec(db)
            .await?;
        Ok(res.rows_affected > 0)
    }

    fn unwrap_key(&self, row: &secret::Model) -> Result<Aes256Gcm, VaultError> {
        let master = self
            .keys
            .find(&row.key_id)
            .ok_or_else(|| VaultError::UnknownKey(row.id.clone(), row.key_id.clone()))?;
        let dek = open(
            &master.cipher,
            &row.wrapped_key,
            &key_aad(&row.id, &row.key_id),
        )
        .ok_or_else(|| VaultError::Tampered(row.id.clone()))?;
        let dek: &[u8; 32] = dek
            .as_slice()
            .try_into()
            .map_err(|_| VaultError::Tampered(row.id.clone()))?;
        Ok(Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(dek)))
    }

    fn open_row(&self, row: &secret::Model) -> Result<Secret, VaultError> {
        let cipher = self.unwrap_key(row)?;
        let plain = open(
            &cipher,
            &row.ciphertext,
            &value_aad(&row.id, &row.organization_id, &row.name),
        )
        .ok_or_else(|| VaultError::Tampered(row.id.clone()))?;
        let text =
            String::from_utf8(plain.to_vec()).map_err(|_| VaultError::Tampered(row.id.clone()))?;
        Ok(Secret(Zeroizing::new(text)))
    }

    /// Re-wraps every data key that is not under the primary master key. Values are not
    /// re-encrypted (their data keys do not change), and each batch commits on its own,
    /// so servers keep reading secrets throughout.
    pub async fn rotate(&self, db: &DatabaseConnection) -> Result<Rotation, VaultError> {
        let primary = &self.keys.primary;
        let mut report = Rotation::default();
        let mut after = String::new();
        loop {
            let rows = secret::Entity::find()
                .filter(secret::Column::Id.gt(after.clone()))
                .order_by_asc(secret::Column::Id)
                .limit(200)
                .all(db)
                .await?;
            let Some(last) = rows.last() else { break };
            after = last.id.clone();
            let txn = crate::db::begin_write(db).await?;
            for row in rows {
                if row.key_id == primary.id {
                    report.already_current += 1;
                    continue;
                }
                let cipher = self
                    .keys
                    .find(&row.key_id)
                    .ok_or_else(|| VaultError::UnknownKey(row.id.clone(), row.key_id.clone()))?;
                let dek = open(
                    &cipher.cipher,
                    &row.wrapped_key,
                    &key_aad(&row.id, &row.key_id),
                )
                .ok_or_else(|| VaultError::Tampered(row.id.clone()))?;
                let wrapped = seal(&primary.cipher, &dek, &key_aad(&row.id, &primary.id));
                // Guarded by the old key id: a concurrent `put` wins, it used the primary.
                secret::Entity::update_many()
                    .col_expr(secret::Column::KeyId, primary.id.clone().into())
                    .col_expr(secret::Column::WrappedKey, wrapped.into())
                    .filter(secret::Column::Id.eq(&row.id))
                    .filter(secret::Column::KeyId.eq(&row.key_id))
                    .exec(&txn)
                    .await?;
                report.rewrapped += 1;
            }
            txn.commit().await?;
        }
        Ok(report)
    }
}
