//! The platform under every integration: the domain-event outbox, the durable job queue
//! with its attempt log, the secret vault, API keys and idempotency records.
//!
//! Job times are integer milliseconds since the epoch: the claim query compares them on
//! every poll, and integers compare the same way on SQLite and PostgreSQL.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    OrganizationId,
    EventType,
    SchemaVersion,
    EntityKind,
    EntityId,
    OccurredAt,
    Payload,
}

#[derive(DeriveIden)]
enum Jobs {
    Table,
    Id,
    Kind,
    OrganizationId,
    ConcurrencyKey,
    ConcurrencyLimit,
    Payload,
    Status,
    Attempts,
    MaxAttempts,
    RunAt,
    LockedBy,
    LockedAt,
    LockedUntil,
    LeaseMs,
    LostBy,
    LostAt,
    LastError,
    CreatedAt,
    UpdatedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum JobAttempts {
    Table,
    Id,
    JobId,
    Attempt,
    Worker,
    StartedAt,
    FinishedAt,
    Outcome,
    Error,
}

#[derive(DeriveIden)]
enum Secrets {
    Table,
    Id,
    OrganizationId,
    Name,
    KeyId,
    WrappedKey,
    Ciphertext,
    Hint,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    OrganizationId,
    Name,
    Prefix,
    KeyHash,
    CreatedBy,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Id,
    ApiKeyId,
    IdemKey,
    RequestHash,
    StatusCode,
    ResponseBody,
    CreatedAt,
}

fn org_fk<T: IntoIden + 'static>(table: T, col: T) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, col)
        .to(Organizations::Table, Organizations::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn index(name: &str, table: impl IntoIden, cols: &[&'static str]) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(table);
    for c in cols {
        i.col(Alias::new(*c));
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Events::Table)
                .col(string(Events::Id).primary_key())
                .col(string(Events::OrganizationId))
                .col(string(Events::EventType))
                .col(integer(Events::SchemaVersion))
                .col(string(Events::EntityKind))
                .col(string(Events::EntityId))
                .col(timestamp_with_time_zone(Events::OccurredAt))
                .col(text(Events::Payload))
                .foreign_key(&mut org_fk(Events::Table, Events::OrganizationId))
                .to_owned(),
        )
        .await?;
        // Ids are ULIDs, so (org, id) is also the time order the API pages through.
        m.create_index(index(
            "idx_events_org_id",
            Events::Table,
            &["organization_id", "id"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Jobs::Table)
                .col(string(Jobs::Id).primary_key())
                .col(string(Jobs::Kind))
                .col(string_null(Jobs::OrganizationId))
                .col(string_null(Jobs::ConcurrencyKey))
                .col(integer_null(Jobs::ConcurrencyLimit))
                .col(text(Jobs::Payload))
                .col(string(Jobs::Status))
                .col(integer(Jobs::Attempts).default(0))
                .col(integer(Jobs::MaxAttempts))
                .col(big_integer(Jobs::RunAt))
                .col(string_null(Jobs::LockedBy))
                .col(big_integer_null(Jobs::LockedAt))
                .col(big_integer_null(Jobs::LockedUntil))
                .col(big_integer(Jobs::LeaseMs))
                .col(string_null(Jobs::LostBy))
                .col(big_integer_null(Jobs::LostAt))
                .col(text_null(Jobs::LastError))
                .col(big_integer(Jobs::CreatedAt))
                .col(big_integer(Jobs::UpdatedAt))
                .col(big_integer_null(Jobs::FinishedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(index("idx_jobs_due", Jobs::Table, &["status", "run_at"]))
            .await?;
        m.create_index(index(
            "idx_jobs_key",
            Jobs::Table,
            &["concurrency_key", "status"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(JobAttempts::Table)
                .col(string(JobAttempts::Id).primary_key())
                .col(string(JobAttempts::JobId))
                .col(integer(JobAttempts::Attempt))
                .col(string(JobAttempts::Worker))
                .col(big_integer(JobAttempts::StartedAt))
                .col(big_integer(JobAttempts::FinishedAt))
                .col(string(JobAttempts::Outcome))
                .col(text_null(JobAttempts::Error))
                .foreign_key(
                    ForeignKey::create()
                        .from(JobAttempts::Table, JobAttempts::JobId)
                        .to(Jobs::Table, Jobs::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_job_attempts_job",
            JobAttempts::Table,
            &["job_id"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Secrets::Table)
                .col(string(Secrets::Id).primary_key())
                .col(string(Secrets::OrganizationId))
                .col(string(Secrets::Name))
                .col(string(Secrets::KeyId))
                .col(text(Secrets::WrappedKey))
                .col(text(Secrets::Ciphertext))
                .col(string(Secrets::Hint))
                .col(timestamp_with_time_zone(Secrets::CreatedAt))
                .col(timestamp_with_time_zone(Secrets::UpdatedAt))
                .foreign_key(&mut org_fk(Secrets::Table, Secrets::OrganizationId))
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                "idx_secrets_org_name",
                Secrets::Table,
                &["organization_id", "name"],
            )
            .unique()
            .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ApiKeys::Table)
                .col(string(ApiKeys::Id).primary_key())
                .col(string(ApiKeys::OrganizationId))
                .col(string(ApiKeys::Name))
                .col(string(ApiKeys::Prefix))
                .col(string_uniq(ApiKeys::KeyHash))
                .col(string(ApiKeys::CreatedBy))
                .col(timestamp_with_time_zone(ApiKeys::CreatedAt))
                .col(timestamp_with_time_zone_null(ApiKeys::LastUsedAt))
                .col(timestamp_with_time_zone_null(ApiKeys::RevokedAt))
                .foreign_key(&mut org_fk(ApiKeys::Table, ApiKeys::OrganizationId))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(IdempotencyKeys::Table)
                .col(string(IdempotencyKeys::Id).primary_key())
                .col(string(IdempotencyKeys::ApiKeyId))
                .col(string(IdempotencyKeys::IdemKey))
                .col(string(IdempotencyKeys::RequestHash))
                .col(integer(IdempotencyKeys::StatusCode))
                .col(text(IdempotencyKeys::ResponseBody))
                .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(IdempotencyKeys::Table, IdempotencyKeys::ApiKeyId)
                        .to(ApiKeys::Table, ApiKeys::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                "idx_idempotency_key",
                IdempotencyKeys::Table,
                &["api_key_id", "idem_key"],
            )
            .unique()
            .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            IdempotencyKeys::Table.into_iden(),
            ApiKeys::Table.into_iden(),
            Secrets::Table.into_iden(),
            JobAttempts::Table.into_iden(),
            Jobs::Table.into_iden(),
            Events::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
