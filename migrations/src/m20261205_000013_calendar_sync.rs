//! Two-way calendar sync: connections to a provider account (tokens in the vault), the
//! calendars seen there, which remote event stands for which booking, busy time pulled
//! in, and the conflicts waiting for staff. Times are epoch ms.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum CalendarConnections {
    Table,
    Id,
    OrganizationId,
    Provider,
    Account,
    ResourceId,
    ConnectedBy,
    State,
    TargetCalendarId,
    Strategy,
    TokenExpiresAt,
    SyncingSince,
    LastSyncAt,
    LastError,
    ErrorAt,
    BackoffUntil,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CalendarSources {
    Table,
    Id,
    ConnectionId,
    OrganizationId,
    RemoteId,
    Summary,
    Busy,
    SyncToken,
    ChannelId,
    ChannelTokenHash,
    ChannelResourceId,
    ChannelExpiresAt,
    LastSyncedAt,
}

#[derive(DeriveIden)]
enum CalendarEventLinks {
    Table,
    Id,
    OrganizationId,
    ConnectionId,
    BookingId,
    RemoteCalendarId,
    RemoteEventId,
    Etag,
    PushedHash,
    RemoteStartsAt,
    RemoteEndsAt,
    RemoteDeleted,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CalendarBusyBlocks {
    Table,
    Id,
    OrganizationId,
    ConnectionId,
    SourceId,
    ResourceId,
    RemoteEventId,
    StartsAt,
    EndsAt,
}

#[derive(DeriveIden)]
enum CalendarConflicts {
    Table,
    Id,
    OrganizationId,
    ConnectionId,
    BookingId,
    Kind,
    RemoteStartsAt,
    RemoteEndsAt,
    Status,
    Detail,
    DecidedBy,
    DecidedAt,
    CreatedAt,
}

fn org_fk(from: (impl IntoIden, impl IntoIden)) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from.0, from.1)
        .to(Organizations::Table, Organizations::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn connection_fk(from: (impl IntoIden, impl IntoIden)) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from.0, from.1)
        .to(CalendarConnections::Table, CalendarConnections::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use CalendarConnections as C;
        m.create_table(
            Table::create()
                .table(C::Table)
                .col(string(C::Id).primary_key())
                .col(string(C::OrganizationId))
                .col(string(C::Provider))
                .col(string(C::Account))
                .col(string_null(C::ResourceId))
                .col(string_null(C::ConnectedBy))
                .col(string(C::State))
                .col(string_null(C::TargetCalendarId))
                .col(string(C::Strategy))
                .col(big_integer_null(C::TokenExpiresAt))
                .col(big_integer_null(C::SyncingSince))
                .col(big_integer_null(C::LastSyncAt))
                .col(text_null(C::LastError))
                .col(big_integer_null(C::ErrorAt))
                .col(big_integer_null(C::BackoffUntil))
                .col(big_integer(C::CreatedAt))
                .col(big_integer(C::UpdatedAt))
                .foreign_key(&mut org_fk((C::Table, C::OrganizationId)))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_calendar_connections_org")
                .table(C::Table)
                .col(C::OrganizationId)
                .to_owned(),
        )
        .await?;

        use CalendarSources as S;
        m.create_table(
            Table::create()
                .table(S::Table)
                .col(string(S::Id).primary_key())
                .col(string(S::ConnectionId))
                .col(string(S::OrganizationId))
                .col(string(S::RemoteId))
                .col(string(S::Summary))
                .col(boolean(S::Busy))
                .col(text_null(S::SyncToken))
                .col(string_null(S::ChannelId))
                .col(string_null(S::ChannelTokenHash))
                .col(string_null(S::ChannelResourceId))
                .col(big_integer_null(S::ChannelExpiresAt))
                .col(big_integer_null(S::LastSyncedAt))
                .foreign_key(&mut connection_fk((S::Table, S::ConnectionId)))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_calendar_sources_remote")
                .table(S::Table)
                .col(S::ConnectionId)
                .col(S::RemoteId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_calendar_sources_channel")
                .table(S::Table)
                .col(S::ChannelId)
                .to_owned(),
        )
        .await?;

        use CalendarEventLinks as L;
        m.create_table(
            Table::create()
                .table(L::Table)
                .col(string(L::Id).primary_key())
                .col(string(L::OrganizationId))
                .col(string(L::ConnectionId))
                .col(string(L::BookingId))
                .col(string(L::RemoteCalendarId))
                .col(string(L::RemoteEventId))
                .col(string_null(L::Etag))
                .col(string_null(L::PushedHash))
                .col(big_integer_null(L::RemoteStartsAt))
                .col(big_integer_null(L::RemoteEndsAt))
                .col(boolean(L::RemoteDeleted))
                .col(big_integer(L::CreatedAt))
                .col(big_integer(L::UpdatedAt))
                .foreign_key(&mut connection_fk((L::Table, L::ConnectionId)))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_calendar_event_links_booking")
                .table(L::Table)
                .col(L::ConnectionId)
                .col(L::BookingId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_calendar_event_links_remote")
                .table(L::Table)
                .col(L::ConnectionId)
                .col(L::RemoteEventId)
                .to_owned(),
        )
        .await?;

        use CalendarBusyBlocks as B;
        m.create_table(
            Table::create()
                .table(B::Table)
                .col(string(B::Id).primary_key())
                .col(string(B::OrganizationId))
                .col(string(B::ConnectionId))
                .col(string(B::SourceId))
                .col(string_null(B::ResourceId))
                .col(string(B::RemoteEventId))
                .col(big_integer(B::StartsAt))
                .col(big_integer(B::EndsAt))
                .foreign_key(&mut connection_fk((B::Table, B::ConnectionId)))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_calendar_busy_blocks_remote")
                .table(B::Table)
                .col(B::SourceId)
                .col(B::RemoteEventId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_calendar_busy_blocks_time")
                .table(B::Table)
                .col(B::OrganizationId)
                .col(B::StartsAt)
                .to_owned(),
        )
        .await?;

        use CalendarConflicts as F;
        m.create_table(
            Table::create()
                .table(F::Table)
                .col(string(F::Id).primary_key())
                .col(string(F::OrganizationId))
                .col(string(F::ConnectionId))
                .col(string(F::BookingId))
                .col(string(F::Kind))
                .col(big_integer_null(F::RemoteStartsAt))
                .col(big_integer_null(F::RemoteEndsAt))
                .col(string(F::Status))
                .col(text(F::Detail))
                .col(string_null(F::DecidedBy))
                .col(big_integer_null(F::DecidedAt))
                .col(big_integer(F::CreatedAt))
                .foreign_key(&mut connection_fk((F::Table, F::ConnectionId)))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_calendar_conflicts_org")
                .table(F::Table)
                .col(F::OrganizationId)
                .col(F::Status)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            CalendarConflicts::Table.into_iden(),
            CalendarBusyBlocks::Table.into_iden(),
            CalendarEventLinks::Table.into_iden(),
            CalendarSources::Table.into_iden(),
            CalendarConnections::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
