//! The dashboard's view of the platform: job queue, API keys, event catalog.
use std::collections::BTreeMap;

use app::error::AppError;
use app::model::api_scope::ApiScope;
use app::model::auth::CurrentUser;
use app::model::platform::{
    ApiKeyView, EventTypeView, IntegrationAlert, JobKindRow, JobRow, JobsOverview, NewApiKey,
};
use app::ports::{AppResult, PlatformPort};
use async_trait::async_trait;
use chrono_tz::Tz;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use crate::db::entities::{api_key, job};
use crate::events::{EventType, Outbox};
use crate::jobs::{self, status};
use crate::platform::OrInternal;
use crate::platform::clock::{Style, local, local_ms};
use crate::services::{api_keys, org};

pub struct PlatformService {
    pub db: DatabaseConnection,
    pub outbox: Outbox,
}

/// The organization's own jobs. System jobs (no organization) are the operator's:
/// `/metrics` and the database show them, no organization's dashboard does.
fn visible(org_id: &str) -> Condition {
    Condition::all().add(job::Column::OrganizationId.eq(org_id))
}

fn key_view(k: api_key::Model, tz: Tz) -> ApiKeyView {
    ApiKeyView {
        id: k.id,
        name: k.name,
        prefix: k.prefix,
        scope_label: ApiScope::parse(&k.scope).unwrap_or_default().label().into(),
        scope: k.scope,
        created: local(k.created_at, tz, Style::Stamp),
        last_used: k.last_used_at.map(|t| local(t, tz, Style::Stamp)),
        revoked: k.revoked_at.is_some(),
    }
}

#[async_trait]
impl PlatformPort for PlatformService {
    async fn jobs(&self, user: &CurrentUser) -> AppResult<JobsOverview> {
        let o = org::load(&self.db, &user.org_id).await?;
        let tz = org::tz(&o);
        let sql = "SELECT kind, status, (attempts > 0) AS retried, COUNT(*) AS n FROM jobs
                   WHERE organization_id = $1 OR organization_id IS NULL
                   GROUP BY kind, status, (attempts > 0)";
        let rows = self
            .db
            .query_all_raw(crate::platform::sql::stmt(
                &self.db,
                sql,
                vec![o.id.clone().into()],
            ))
            .await
            .or_internal()?;
        let mut kinds: BTreeMap<String, JobKindRow> = BTreeMap::new();
        for r in rows {
            let kind: String = r.try_get("", "kind").or_internal()?;
            let st: String = r.try_get("", "status").or_internal()?;
            let retried: bool = r.try_get("", "retried").or_internal()?;
            let n: i64 = r.try_get("", "n").or_internal()?;
            let row = kinds.entry(kind.clone()).or_insert(JobKindRow {
                kind,
                queued: 0,
                running: 0,
                retrying: 0,
                dead: 0,
                done: 0,
            });
            match (st.as_str(), retried) {
                (status::QUEUED, true) => row.retrying += n,
                (status::QUEUED, false) => row.queued += n,
                (status::RUNNING, _) => row.running += n,
                (status::DEAD, _) => row.dead += n,
                _ => row.done += n,
            }
        }
        let attention = job::Entity::find()
            .filter(visible(&o.id))
            .filter(
                Condition::any()
                    .add(job::Column::Status.eq(status::DEAD))
                    .add(
                        Condition::all()
                            .add(job::Column::Status.eq(status::QUEUED))
                            .add(job::Column::Attempts.gt(0)),
                    ),
            )
            .order_by_desc(job::Column::UpdatedAt)
            .limit(50)
            .all(&self.db)
            .await
            .or_internal()?
            .into_iter()
            .map(|j| JobRow {
                when: local_ms(
                    if j.status == status::DEAD {
                        j.finished_at.unwrap_or(j.updated_at)
                    } else {
                        j.run_at
                    },
                    tz,
                    Style::Stamp,
                ),
                id: j.id,
                kind: j.kind,
                status: j.status,
                attempts: j.attempts,
                max_attempts: j.max_attempts,
                last_error: j.last_error.unwrap_or_default(),
            })
            .collect();
        Ok(JobsOverview {
            kinds: kinds.into_values().collect(),
            attention,
        })
    }

    async fn retry_job(&self, user: &CurrentUser, id: &str) -> AppResult<()> {
        let found = jobs::queue::retry(&self.db, id, Some(&user.org_id), 1)
            .await
            .or_internal()?;
        if !found {
            return Err(AppError::InvalidTransition {
                detail: "That job is not waiting for a retry (it may have run already).".into(),
            });
        }
        self.outbox.hub().jobs_enqueued();
        Ok(())
    }

    async fn api_keys(&self, user: &CurrentUser) -> AppResult<Vec<ApiKeyView>> {
        let o = org::load(&self.db, &user.org_id).await?;
        let tz = org::tz(&o);
        Ok(api_keys::list(&self.db, &o.id)
            .await
            .or_internal()?
            .into_iter()
            .map(|k| key_view(k, tz))
            .collect())
    }

    async fn create_api_key(
        &self,
        user: &CurrentUser,
        name: &str,
        scope: ApiScope,
    ) -> AppResult<NewApiKey> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AppError::field(
                "name",
                "Say what the key is for, in 1 to 100 characters.",
            ));
        }
        let o = org::load(&self.db, &user.org_id).await?;
        let (key, secret) = api_keys::create(&self.db, &o.id, name, &user.email, scope)
            .await
            .or_internal()?;
        tracing::info!(key = %key.id, by = %user.email, scope = scope.as_str(), "API key created");
        Ok(NewApiKey {
            key: key_view(key, org::tz(&o)),
            secret,
        })
    }

    async fn revoke_api_key(&self, user: &CurrentUser, id: &str) -> AppResult<()> {
        if !api_keys::revoke(&self.db, &user.org_id, id)
            .await
            .or_internal()?
        {
            return Err(AppError::not_found("API key"));
        }
        tracing::info!(key = %id, by = %user.email, "API key revoked");
        Ok(())
    }

    async fn event_types(&self) -> AppResult<Vec<EventTypeView>> {
        Ok(EventType::ALL
            .iter()
            .map(|t| EventTypeView {
                name: t.as_str().into(),
                description: t.description().into(),
                sample: serde_json::to_string_pretty(&t.sample()).unwrap_or_default(),
            })
            .collect())
    }

    async fn alerts(&self, user: &CurrentUser) -> AppResult<Vec<IntegrationAlert>> {
        if !user.role.can_manage() {
            return Ok(Vec::new());
        }
        Ok(self.outbox.alerts(&user.org_id).await)
    }
}
