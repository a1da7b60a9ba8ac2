//! Limits shared by every server process on one PostgreSQL: failure counts (wrong
//! passwords, guessed guest links) and send slots (an endpoint's deliveries per second).
//! SQLite runs one process and keeps both in memory; the tables exist there unused.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum FailureCounts {
    Table,
    Key,
    Count,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum SendSlots {
    Table,
    Key,
    /// Microseconds since the epoch (rates up to thousands per second).
    NextFree,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(FailureCounts::Table)
                .col(string(FailureCounts::Key).primary_key())
                .col(integer(FailureCounts::Count))
                .col(big_integer(FailureCounts::ExpiresAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_failure_counts_expires")
                .table(FailureCounts::Table)
                .col(FailureCounts::ExpiresAt)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(SendSlots::Table)
                .col(string(SendSlots::Key).primary_key())
                .col(big_integer(SendSlots::NextFree))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(SendSlots::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(FailureCounts::Table).to_owned())
            .await
    }
}
