//! Calendar feeds: private `.ics` links for the organization or one resource, with full
//! details or free/busy only. Only the token's SHA-256 is stored here (the link itself
//! is kept encrypted in the vault so managers can copy it again). Times are epoch ms.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum CalendarFeeds {
    Table,
    Id,
    OrganizationId,
    ResourceId,
    Label,
    Privacy,
    TokenHash,
    ExpiresAt,
    RevokedAt,
    CreatedBy,
    CreatedAt,
    LastFetchedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(CalendarFeeds::Table)
                .col(string(CalendarFeeds::Id).primary_key())
                .col(string(CalendarFeeds::OrganizationId))
                .col(string_null(CalendarFeeds::ResourceId))
                .col(string(CalendarFeeds::Label))
                .col(string(CalendarFeeds::Privacy))
                .col(string(CalendarFeeds::TokenHash))
                .col(big_integer_null(CalendarFeeds::ExpiresAt))
                .col(big_integer_null(CalendarFeeds::RevokedAt))
                .col(string_null(CalendarFeeds::CreatedBy))
                .col(big_integer(CalendarFeeds::CreatedAt))
                .col(big_integer_null(CalendarFeeds::LastFetchedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(CalendarFeeds::Table, CalendarFeeds::OrganizationId)
                        .to(Organizations::Table, Organizations::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_calendar_feeds_token")
                .table(CalendarFeeds::Table)
                .col(CalendarFeeds::TokenHash)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_calendar_feeds_org")
                .table(CalendarFeeds::Table)
                .col(CalendarFeeds::OrganizationId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(CalendarFeeds::Table).to_owned())
            .await
    }
}
