//! A concurrency key's current limit, when something adapts it at run time (a webhook
//! endpoint's deliveries at once): it overrides the limit written on each queued job,
//! so a change reaches jobs already waiting.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum JobKeyLimits {
    Table,
    Key,
    MaxRunning,
    /// Why the limit last went down, for the page that shows it.
    Reason,
    ReasonAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(JobKeyLimits::Table)
                .col(string(JobKeyLimits::Key).primary_key())
                .col(integer(JobKeyLimits::MaxRunning))
                .col(text_null(JobKeyLimits::Reason))
                .col(big_integer_null(JobKeyLimits::ReasonAt))
                .col(big_integer(JobKeyLimits::UpdatedAt))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(JobKeyLimits::Table).to_owned())
            .await
    }
}
