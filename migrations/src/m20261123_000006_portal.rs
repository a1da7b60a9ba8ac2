//! The guest portal: one manage token per booking (stored as a SHA-256 hash; the link
//! itself is kept encrypted in the vault so staff can copy it again), and the
//! organization's cancellation cutoff.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
    CancelCutoffHours,
}

#[derive(DeriveIden)]
enum ManageTokens {
    Table,
    Id,
    OrganizationId,
    BookingId,
    TokenHash,
    Scopes,
    RevokedAt,
    CreatedBy,
    CreatedAt,
    LastUsedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Organizations::Table)
                .add_column(integer(Organizations::CancelCutoffHours).default(24))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ManageTokens::Table)
                .col(string(ManageTokens::Id).primary_key())
                .col(string(ManageTokens::OrganizationId))
                .col(string(ManageTokens::BookingId))
                .col(string(ManageTokens::TokenHash))
                .col(string(ManageTokens::Scopes))
                .col(big_integer_null(ManageTokens::RevokedAt))
                .col(string_null(ManageTokens::CreatedBy))
                .col(big_integer(ManageTokens::CreatedAt))
                .col(big_integer_null(ManageTokens::LastUsedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(ManageTokens::Table, ManageTokens::OrganizationId)
                        .to(Organizations::Table, Organizations::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_manage_tokens_hash")
                .table(ManageTokens::Table)
                .col(ManageTokens::TokenHash)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_manage_tokens_booking")
                .table(ManageTokens::Table)
                .col(ManageTokens::BookingId)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ManageTokens::Table).to_owned())
            .await?;
        m.alter_table(
            Table::alter()
                .table(Organizations::Table)
                .drop_column(Organizations::CancelCutoffHours)
                .to_owned(),
        )
        .await
    }
}
