//! Why a job attempt failed, as a typed reason (`database`, `unreachable`, `timeout`,
//! ...) beside the message: on each attempt, and the latest on the job. And when
//! Stripe refused to tell about a payment link, so reconciliation stops asking.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Jobs {
    Table,
    LastReason,
}

#[derive(DeriveIden)]
enum JobAttempts {
    Table,
    Reason,
}

#[derive(DeriveIden)]
enum PaymentLinks {
    Table,
    CheckRefusedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Jobs::Table)
                .add_column(ColumnDef::new(Jobs::LastReason).string().null())
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(JobAttempts::Table)
                .add_column(ColumnDef::new(JobAttempts::Reason).string().null())
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(PaymentLinks::Table)
                .add_column(
                    ColumnDef::new(PaymentLinks::CheckRefusedAt)
                        .big_integer()
                        .null(),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(PaymentLinks::Table)
                .drop_column(PaymentLinks::CheckRefusedAt)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(JobAttempts::Table)
                .drop_column(JobAttempts::Reason)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Jobs::Table)
                .drop_column(Jobs::LastReason)
                .to_owned(),
        )
        .await
    }
}
