//! Webhooks as a consumer of domain events: each event becomes a delivery (and its
//! job) per subscribed endpoint, in the event's transaction.
use std::time::Duration;

use app::model::platform::IntegrationAlert;
use async_trait::async_trait;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait, QueryFilter,
    sea_query::Expr,
};

use super::{fanout, manage::STOPPED};
use crate::db::entities::webhook_endpoint;
use crate::events::{EventRecord, Subscriber};
use crate::jobs::{NewJob, Registry};
use crate::platform::Hub;
use crate::platform::outbound::OutboundPolicy;
use crate::vault::Vault;

pub struct WebhookSubscriber {
    vault: Vault,
    policy: OutboundPolicy,
    timeout: Duration,
}

impl WebhookSubscriber {
    /// `timeout` is how long a receiver has to answer. Must run inside the tokio
    /// runtime: it watches `hub` for endpoint changes made by other processes.
    pub fn new(hub: &Hub, vault: Vault, policy: OutboundPolicy, timeout: Duration) -> Self {
        fanout::watch(hub);
        WebhookSubscriber {
            vault,
            policy,
            timeout,
        }
    }
}

#[async_trait]
impl Subscriber for WebhookSubscriber {
    fn name(&self) -> &'static str {
        "webhooks"
    }

    fn register(&self, jobs: &mut Registry) {
        super::register(jobs, self.vault.clone(), self.policy.clone(), self.timeout);
    }

    async fn on_event(
        &self,
        txn: &DatabaseTransaction,
        e: &EventRecord<'_>,
    ) -> Result<Vec<NewJob>, DbErr> {
        fanout::on_event(
            txn,
            e.org_id,
            e.id,
            e.event_type.as_str(),
            e.occurred_at,
            e.data,
            super::job_timeout(self.timeout),
        )
        .await
    }

    async fn alerts(
        &self,
        db: &DatabaseConnection,
        org_id: &str,
    ) -> Result<Vec<IntegrationAlert>, DbErr> {
        Ok(webhook_endpoint::Entity::find()
            .filter(webhook_endpoint::Column::OrganizationId.eq(org_id))
            .filter(Expr::cust(STOPPED))
            .all(db)
            .await?
            .into_iter()
            .map(|e| IntegrationAlert {
                title: "Webhook deliveries stopped".into(),
                href: format!("/webhooks/{}", e.id),
                subject: e.url,
                detail: format!("was disabled. {}", e.disabled_reason.unwrap_or_default()),
            })
            .collect())
    }
}
