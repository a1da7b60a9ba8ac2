//! Tenants, accounts, sessions, clients, resources, bookings, invoices and the audit log.
//! Ids are prefixed text (`bk_...`), so they read well in logs and cannot be mixed up.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
    Name,
    Slug,
    TimeZone,
    Currency,
    NextInvoiceNumber,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    OrganizationId,
    Email,
    Name,
    Role,
    PasswordHash,
    CreatedAt,
    LastLoginAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    Data,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Clients {
    Table,
    Id,
    OrganizationId,
    Name,
    Email,
    Phone,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Resources {
    Table,
    Id,
    OrganizationId,
    Name,
    Capacity,
    SlotMinutes,
    OpeningHours,
    LockVersion,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Bookings {
    Table,
    Id,
    OrganizationId,
    ResourceId,
    ClientId,
    StartsAt,
    EndsAt,
    PartySize,
    Status,
    Notes,
    DepositMinor,
    Revision,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Invoices {
    Table,
    Id,
    OrganizationId,
    Number,
    ClientId,
    BookingId,
    Currency,
    TotalMinor,
    DueOn,
    Status,
    Notes,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum InvoiceLines {
    Table,
    Id,
    InvoiceId,
    Position,
    Description,
    Quantity,
    UnitAmountMinor,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    OrganizationId,
    ActorKind,
    ActorId,
    ActorLabel,
    Action,
    EntityKind,
    EntityId,
    Details,
    CreatedAt,
}

fn fk(
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Organizations::Table)
                .col(string(Organizations::Id).primary_key())
                .col(string(Organizations::Name))
                .col(string_uniq(Organizations::Slug))
                .col(string(Organizations::TimeZone))
                .col(string_len(Organizations::Currency, 3))
                .col(big_integer(Organizations::NextInvoiceNumber).default(1))
                .col(timestamp_with_time_zone(Organizations::CreatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Users::Table)
                .col(string(Users::Id).primary_key())
                .col(string(Users::OrganizationId))
                .col(string_uniq(Users::Email))
                .col(string(Users::Name))
                .col(string(Users::Role))
                .col(string(Users::PasswordHash))
                .col(timestamp_with_time_zone(Users::CreatedAt))
                .col(timestamp_with_time_zone_null(Users::LastLoginAt))
                .foreign_key(&mut fk(
                    (Users::Table, Users::OrganizationId),
                    (Organizations::Table, Organizations::Id),
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Sessions::Table)
                .col(string(Sessions::Id).primary_key())
                .col(text(Sessions::Data))
                .col(timestamp_with_time_zone(Sessions::ExpiresAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_sessions_expires")
                .table(Sessions::Table)
                .col(Sessions::ExpiresAt)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Clients::Table)
                .col(string(Clients::Id).primary_key())
                .col(string(Clients::OrganizationId))
                .col(string(Clients::Name))
                .col(string(Clients::Email))
                .col(string(Clients::Phone))
                .col(timestamp_with_time_zone(Clients::CreatedAt))
                .col(timestamp_with_time_zone(Clients::UpdatedAt))
                .foreign_key(&mut fk(
                    (Clients::Table, Clients::OrganizationId),
                    (Organizations::Table, Organizations::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_clients_org_name")
                .table(Clients::Table)
                .col(Clients::OrganizationId)
                .col(Clients::Name)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Resources::Table)
                .col(string(Resources::Id).primary_key())
                .col(string(Resources::OrganizationId))
                .col(string(Resources::Name))
                .col(integer(Resources::Capacity))
                .col(integer(Resources::SlotMinutes))
                .col(text(Resources::OpeningHours))
                .col(big_integer(Resources::LockVersion).default(0))
                .col(timestamp_with_time_zone(Resources::CreatedAt))
                .foreign_key(&mut fk(
                    (Resources::Table, Resources::OrganizationId),
                    (Organizations::Table, Organizations::Id),
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Bookings::Table)
                .col(string(Bookings::Id).primary_key())
                .col(string(Bookings::OrganizationId))
                .col(string(Bookings::ResourceId))
                .col(string(Bookings::ClientId))
                .col(timestamp_with_time_zone(Bookings::StartsAt))
                .col(timestamp_with_time_zone(Bookings::EndsAt))
                .col(integer(Bookings::PartySize))
                .col(string(Bookings::Status))
                .col(text(Bookings::Notes))
                .col(big_integer(Bookings::DepositMinor))
                .col(big_integer(Bookings::Revision))
                .col(timestamp_with_time_zone(Bookings::CreatedAt))
                .col(timestamp_with_time_zone(Bookings::UpdatedAt))
                .foreign_key(&mut fk(
                    (Bookings::Table, Bookings::OrganizationId),
                    (Organizations::Table, Organizations::Id),
                ))
                .foreign_key(&mut fk(
                    (Bookings::Table, Bookings::ResourceId),
                    (Resources::Table, Resources::Id),
                ))
                .foreign_key(&mut fk(
                    (Bookings::Table, Bookings::ClientId),
                    (Clients::Table, Clients::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_bookings_org_start")
                .table(Bookings::Table)
                .col(Bookings::OrganizationId)
                .col(Bookings::StartsAt)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_bookings_resource_start")
                .table(Bookings::Table)
                .col(Bookings::ResourceId)
                .col(Bookings::StartsAt)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Invoices::Table)
                .col(string(Invoices::Id).primary_key())
                .col(string(Invoices::OrganizationId))
                .col(string(Invoices::Number))
                .col(string(Invoices::ClientId))
                .col(string_null(Invoices::BookingId))
                .col(string_len(Invoices::Currency, 3))
                .col(big_integer(Invoices::TotalMinor))
                .col(date(Invoices::DueOn))
                .col(string(Invoices::Status))
                .col(text(Invoices::Notes))
                .col(timestamp_with_time_zone(Invoices::CreatedAt))
                .col(timestamp_with_time_zone(Invoices::UpdatedAt))
                .foreign_key(&mut fk(
                    (Invoices::Table, Invoices::OrganizationId),
                    (Organizations::Table, Organizations::Id),
                ))
                .foreign_key(&mut fk(
                    (Invoices::Table, Invoices::ClientId),
                    (Clients::Table, Clients::Id),
                ))
                .foreign_key(
                    ForeignKey::create()
                        .from(Invoices::Table, Invoices::BookingId)
                        .to(Bookings::Table, Bookings::Id)
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_invoices_org_number")
                .unique()
                .table(Invoices::Table)
                .col(Invoices::OrganizationId)
                .col(Invoices::Number)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(InvoiceLines::Table)
                .col(string(InvoiceLines::Id).primary_key())
                .col(string(InvoiceLines::InvoiceId))
                .col(integer(InvoiceLines::Position))
                .col(string(InvoiceLines::Description))
                .col(integer(InvoiceLines::Quantity))
                .col(big_integer(InvoiceLines::UnitAmountMinor))
                .foreign_key(&mut fk(
                    (InvoiceLines::Table, InvoiceLines::InvoiceId),
                    (Invoices::Table, Invoices::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_invoice_lines_invoice")
                .table(InvoiceLines::Table)
                .col(InvoiceLines::InvoiceId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(AuditLog::Table)
                .col(string(AuditLog::Id).primary_key())
                .col(string(AuditLog::OrganizationId))
                .col(string(AuditLog::ActorKind))
                .col(string(AuditLog::ActorId))
                .col(string(AuditLog::ActorLabel))
                .col(string(AuditLog::Action))
                .col(string(AuditLog::EntityKind))
                .col(string(AuditLog::EntityId))
                .col(text(AuditLog::Details))
                .col(timestamp_with_time_zone(AuditLog::CreatedAt))
                .foreign_key(&mut fk(
                    (AuditLog::Table, AuditLog::OrganizationId),
                    (Organizations::Table, Organizations::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_audit_org_created")
                .table(AuditLog::Table)
                .col(AuditLog::OrganizationId)
                .col(AuditLog::CreatedAt)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            AuditLog::Table.into_iden(),
            InvoiceLines::Table.into_iden(),
            Invoices::Table.into_iden(),
            Bookings::Table.into_iden(),
            Resources::Table.into_iden(),
            Clients::Table.into_iden(),
            Sessions::Table.into_iden(),
            Users::Table.into_iden(),
            Organizations::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
