//! The bookings list is ordered by start and then id (a stable order for equal starts).
//! With the id in the index, the database reads the page in that order and stops at the
//! page's end, where the index on (organization, start) left it to sort every match
//! first. The new index serves every query the old one did, so it replaces it.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Bookings {
    Table,
    OrganizationId,
    StartsAt,
    Id,
}

const OLD: &str = "idx_bookings_org_start";
const NEW: &str = "idx_bookings_org_start_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name(NEW)
                .table(Bookings::Table)
                .col(Bookings::OrganizationId)
                .col(Bookings::StartsAt)
                .col(Bookings::Id)
                .to_owned(),
        )
        .await?;
        m.drop_index(Index::drop().name(OLD).table(Bookings::Table).to_owned())
            .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name(OLD)
                .table(Bookings::Table)
                .col(Bookings::OrganizationId)
                .col(Bookings::StartsAt)
                .to_owned(),
        )
        .await?;
        m.drop_index(Index::drop().name(NEW).table(Bookings::Table).to_owned())
            .await
    }
}
