//! Stripe events are processed by one job per organization that reads its pending
//! events (`processed_at IS NULL`) oldest first; this index finds them without a scan
//! of every event the organization ever received.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum StripeEvents {
    Table,
    OrganizationId,
    ProcessedAt,
    Created,
}

const INDEX: &str = "idx_stripe_events_pending";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name(INDEX)
                .table(StripeEvents::Table)
                .col(StripeEvents::OrganizationId)
                .col(StripeEvents::ProcessedAt)
                .col(StripeEvents::Created)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name(INDEX)
                .table(StripeEvents::Table)
                .to_owned(),
        )
        .await
    }
}
