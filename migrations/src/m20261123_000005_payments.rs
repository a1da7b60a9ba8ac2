//! Stripe payments: per-organization settings (the keys themselves live in the vault),
//! payment links (Checkout Sessions) for invoices and booking deposits, refunds, and
//! every inbound Stripe event once (deduplicated on Stripe's event id).
//! Times are epoch milliseconds, like the job queue.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum StripeSettings {
    Table,
    OrganizationId,
    Livemode,
    AccountId,
    AccountName,
    CheckedAt,
    CheckError,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PaymentLinks {
    Table,
    Id,
    OrganizationId,
    SubjectKind,
    SubjectId,
    SessionId,
    Url,
    AmountMinor,
    Currency,
    Status,
    PaymentStatus,
    PaymentIntentId,
    RefundedMinor,
    LastError,
    ExpiresAt,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    CompletedAt,
    CheckedAt,
}

#[derive(DeriveIden)]
enum Refunds {
    Table,
    Id,
    OrganizationId,
    PaymentLinkId,
    StripeRefundId,
    AmountMinor,
    Reason,
    Status,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum StripeEvents {
    Table,
    Id,
    OrganizationId,
    StripeId,
    EventType,
    Created,
    Livemode,
    Payload,
    ReceivedAt,
    ProcessedAt,
    Outcome,
}

fn index(name: &str, table: impl IntoIden, cols: &[&'static str]) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(table);
    for c in cols {
        i.col(Alias::new(*c));
    }
    i.to_owned()
}

fn org_fk(table: impl IntoIden, col: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, col)
        .to(Organizations::Table, Organizations::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(StripeSettings::Table)
                .col(string(StripeSettings::OrganizationId).primary_key())
                .col(boolean(StripeSettings::Livemode))
                .col(string_null(StripeSettings::AccountId))
                .col(string_null(StripeSettings::AccountName))
                .col(big_integer_null(StripeSettings::CheckedAt))
                .col(text_null(StripeSettings::CheckError))
                .col(big_integer(StripeSettings::UpdatedAt))
                .foreign_key(&mut org_fk(
                    StripeSettings::Table,
                    StripeSettings::OrganizationId,
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(PaymentLinks::Table)
                .col(string(PaymentLinks::Id).primary_key())
                .col(string(PaymentLinks::OrganizationId))
                .col(string(PaymentLinks::SubjectKind))
                .col(string(PaymentLinks::SubjectId))
                .col(string(PaymentLinks::SessionId))
                .col(text(PaymentLinks::Url))
                .col(big_integer(PaymentLinks::AmountMinor))
                .col(string(PaymentLinks::Currency))
                .col(string(PaymentLinks::Status))
                .col(string(PaymentLinks::PaymentStatus))
                .col(string_null(PaymentLinks::PaymentIntentId))
                .col(big_integer(PaymentLinks::RefundedMinor).default(0))
                .col(text_null(PaymentLinks::LastError))
                .col(big_integer(PaymentLinks::ExpiresAt))
                .col(string_null(PaymentLinks::CreatedBy))
                .col(big_integer(PaymentLinks::CreatedAt))
                .col(big_integer(PaymentLinks::UpdatedAt))
                .col(big_integer_null(PaymentLinks::CompletedAt))
                .col(big_integer_null(PaymentLinks::CheckedAt))
                .foreign_key(&mut org_fk(
                    PaymentLinks::Table,
                    PaymentLinks::OrganizationId,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_payment_links_subject",
            PaymentLinks::Table,
            &["organization_id", "subject_kind", "subject_id"],
        ))
        .await?;
        m.create_index(
            index(
                "idx_payment_links_session",
                PaymentLinks::Table,
                &["session_id"],
            )
            .unique()
            .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_payment_links_intent",
            PaymentLinks::Table,
            &["payment_intent_id"],
        ))
        .await?;
        // One active link per invoice or deposit, enforced by the database even when two
        // staff members click at once. Partial indexes read the same on both databases.
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX idx_payment_links_one_active ON payment_links \
                 (organization_id, subject_kind, subject_id) WHERE status = 'active'",
            )
            .await?;

        m.create_table(
            Table::create()
                .table(Refunds::Table)
                .col(string(Refunds::Id).primary_key())
                .col(string(Refunds::OrganizationId))
                .col(string(Refunds::PaymentLinkId))
                .col(string_null(Refunds::StripeRefundId))
                .col(big_integer(Refunds::AmountMinor))
                .col(text(Refunds::Reason))
                .col(string(Refunds::Status))
                .col(string_null(Refunds::CreatedBy))
                .col(big_integer(Refunds::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Refunds::Table, Refunds::PaymentLinkId)
                        .to(PaymentLinks::Table, PaymentLinks::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_refunds_link",
            Refunds::Table,
            &["payment_link_id"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(StripeEvents::Table)
                .col(string(StripeEvents::Id).primary_key())
                .col(string(StripeEvents::OrganizationId))
                .col(string(StripeEvents::StripeId))
                .col(string(StripeEvents::EventType))
                .col(big_integer(StripeEvents::Created))
                .col(boolean(StripeEvents::Livemode))
                .col(text(StripeEvents::Payload))
                .col(big_integer(StripeEvents::ReceivedAt))
                .col(big_integer_null(StripeEvents::ProcessedAt))
                .col(text_null(StripeEvents::Outcome))
                .foreign_key(&mut org_fk(
                    StripeEvents::Table,
                    StripeEvents::OrganizationId,
                ))
                .to_owned(),
        )
        .await?;
        // Stripe delivers at least once: the second copy of an event hits this index.
        m.create_index(
            index(
                "idx_stripe_events_dedup",
                StripeEvents::Table,
                &["organization_id", "stripe_id"],
            )
            .unique()
            .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            StripeEvents::Table.into_iden(),
            Refunds::Table.into_iden(),
            PaymentLinks::Table.into_iden(),
            StripeSettings::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
