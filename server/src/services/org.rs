//! Organization settings, resources and the audit log.
use app::model::auth::{Actor, CurrentUser};
use app::model::org::{AuditEntry, OrgSettings, OrgSettingsInput};
use app::model::page::Page;
use app::model::resource::{OpeningHours, ResourceView};
use app::ports::{AppResult, OrgPort};
use async_trait::async_trait;
use chrono_tz::Tz;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};

use crate::db::audit;
use crate::db::entities::{audit_log, organization, resource};
use crate::platform::OrInternal;
use crate::platform::clock::{Style, local};

pub struct OrgService {
    pub db: DatabaseConnection,
}

pub use crate::db::org::{load, tz};

pub fn resource_view(r: &resource::Model) -> ResourceView {
    ResourceView {
        id: r.id.clone(),
        name: r.name.clone(),
        capacity: r.capacity.max(0) as u32,
        slot_minutes: r.slot_minutes.max(0) as u32,
        opening_hours: serde_json::from_str(&r.opening_hours).unwrap_or(OpeningHours([None; 7])),
    }
}

pub async fn resources(db: &impl ConnectionTrait, org_id: &str) -> AppResult<Vec<ResourceView>> {
    let rows = resource::Entity::find()
        .filter(resource::Column::OrganizationId.eq(org_id))
        .order_by_asc(resource::Column::Name)
        .all(db)
        .await
        .or_internal()?;
    Ok(rows.iter().map(resource_view).collect())
}

fn settings(org: organization::Model) -> OrgSettings {
    OrgSettings {
        name: org.name,
        slug: org.slug,
        time_zone: org.time_zone,
        currency: org.currency,
        cancel_cutoff_hours: org.cancel_cutoff_hours.max(0) as u32,
    }
}

#[async_trait]
impl OrgPort for OrgService {
    async fn settings(&self, user: &CurrentUser) -> AppResult<OrgSettings> {
        Ok(settings(load(&self.db, &user.org_id).await?))
    }

    async fn update(&self, user: &CurrentUser, input: &OrgSettingsInput) -> AppResult<OrgSettings> {
        let valid = input.validate(|z| z.parse::<Tz>().is_ok())?;
        let txn = crate::db::begin_write(&self.db).await.or_internal()?;
        let org = load(&txn, &user.org_id).await?;
        let before = settings(org.clone());
        let mut active: organization::ActiveModel = org.into();
        active.name = Set(valid.name);
        active.time_zone = Set(valid.time_zone);
        active.currency = Set(valid.currency);
        active.cancel_cutoff_hours = Set(valid.cancel_cutoff_hours.parse().unwrap_or(24));
        let saved = active.update(&txn).await.or_internal()?;
        let details = serde_json::json!({ "before": before, "after": settings(saved.clone()) });
        audit::record(
            &txn,
            &Actor::from(user),
            "organization.updated",
            "organization",
            &saved.id,
            details,
        )
        .await
        .or_internal()?;
        txn.commit().await.or_internal()?;
        Ok(settings(saved))
    }

    async fn resources(&self, user: &CurrentUser) -> AppResult<Vec<ResourceView>> {
        resources(&self.db, &user.org_id).await
    }

    async fn audit(&self, user: &CurrentUser, page: u64) -> AppResult<Page<AuditEntry>> {
        let org = load(&self.db, &user.org_id).await?;
        let tz = tz(&org);
        let per_page = 25;
        let pages = audit_log::Entity::find()
            .filter(audit_log::Column::OrganizationId.eq(&user.org_id))
            .order_by_desc(audit_log::Column::CreatedAt)
            .order_by_desc(audit_log::Column::Id)
            .paginate(&self.db, per_page);
        let total = pages.num_items().await.or_internal()?;
        let page = app::model::page::clamp_page(page);
        let items = pages.fetch_page(page - 1).await.or_internal()?;
        Ok(Page {
            items: items
                .into_iter()
                .map(|a| AuditEntry {
                    at: local(a.created_at, tz, Style::Stamp),
                    actor: format!("{} {}", a.actor_kind, a.actor_label),
                    action: a.action,
                    entity: a.entity_id,
                })
                .collect(),
            page,
            per_page,
            total,
        })
    }
}
