//! An organization's row and its time zone, as every layer reads them.
use app::error::AppError;
use app::ports::AppResult;
use chrono_tz::Tz;
use sea_orm::{ConnectionTrait, EntityTrait};

use super::entities::organization;
use crate::platform::OrInternal;
use crate::platform::clock::tz_named;

pub async fn load(db: &impl ConnectionTrait, org_id: &str) -> AppResult<organization::Model> {
    organization::Entity::find_by_id(org_id)
        .one(db)
        .await
        .or_internal()?
        .ok_or_else(|| AppError::not_found("organization"))
}

pub fn tz(org: &organization::Model) -> Tz {
    tz_named(&org.time_zone)
}
