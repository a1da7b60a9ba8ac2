//! Outbound webhooks: endpoints (incl. Zapier REST-hook subscriptions), one delivery per
//! event and endpoint with the exact request body sent, and every attempt's outcome.
//! Times are epoch milliseconds, like the job queue they ride on.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Id,
    OrganizationId,
    Source,
    Url,
    Description,
    EventTypes,
    Format,
    Headers,
    RatePerSecond,
    MaxInFlight,
    Enabled,
    SecretVersion,
    PreviousSecretUntil,
    ConsecutiveFailures,
    FailingSince,
    PausedUntil,
    DisabledAt,
    DisabledReason,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    OrganizationId,
    EndpointId,
    EventId,
    EventType,
    Body,
    Status,
    Attempts,
    NextAttemptAt,
    LastStatusCode,
    LastError,
    JobId,
    CreatedAt,
    UpdatedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum WebhookAttempts {
    Table,
    Id,
    DeliveryId,
    EndpointId,
    Attempt,
    StartedAt,
    DurationMs,
    RequestHeaders,
    StatusCode,
    ResponseHeaders,
    ResponseBody,
    ErrorClass,
    Error,
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
                .table(WebhookEndpoints::Table)
                .col(string(WebhookEndpoints::Id).primary_key())
                .col(string(WebhookEndpoints::OrganizationId))
                .col(string(WebhookEndpoints::Source))
                .col(text(WebhookEndpoints::Url))
                .col(text(WebhookEndpoints::Description))
                .col(text_null(WebhookEndpoints::EventTypes))
                .col(string(WebhookEndpoints::Format))
                .col(text(WebhookEndpoints::Headers))
                .col(integer_null(WebhookEndpoints::RatePerSecond))
                .col(integer(WebhookEndpoints::MaxInFlight))
                .col(boolean(WebhookEndpoints::Enabled))
                .col(integer(WebhookEndpoints::SecretVersion))
                .col(big_integer_null(WebhookEndpoints::PreviousSecretUntil))
                .col(integer(WebhookEndpoints::ConsecutiveFailures).default(0))
                .col(big_integer_null(WebhookEndpoints::FailingSince))
                .col(big_integer_null(WebhookEndpoints::PausedUntil))
                .col(big_integer_null(WebhookEndpoints::DisabledAt))
                .col(text_null(WebhookEndpoints::DisabledReason))
                .col(big_integer(WebhookEndpoints::CreatedAt))
                .col(big_integer(WebhookEndpoints::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(WebhookEndpoints::Table, WebhookEndpoints::OrganizationId)
                        .to(Organizations::Table, Organizations::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_webhook_endpoints_org",
            WebhookEndpoints::Table,
            &["organization_id", "enabled"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(WebhookDeliveries::Table)
                .col(string(WebhookDeliveries::Id).primary_key())
                .col(string(WebhookDeliveries::OrganizationId))
                .col(string(WebhookDeliveries::EndpointId))
                .col(string(WebhookDeliveries::EventId))
                .col(string(WebhookDeliveries::EventType))
                .col(text(WebhookDeliveries::Body))
                .col(string(WebhookDeliveries::Status))
                .col(integer(WebhookDeliveries::Attempts).default(0))
                .col(big_integer_null(WebhookDeliveries::NextAttemptAt))
                .col(integer_null(WebhookDeliveries::LastStatusCode))
                .col(text_null(WebhookDeliveries::LastError))
                .col(string_null(WebhookDeliveries::JobId))
                .col(big_integer(WebhookDeliveries::CreatedAt))
                .col(big_integer(WebhookDeliveries::UpdatedAt))
                .col(big_integer_null(WebhookDeliveries::FinishedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(WebhookDeliveries::Table, WebhookDeliveries::EndpointId)
                        .to(WebhookEndpoints::Table, WebhookEndpoints::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // The delivery log pages by (org, id) and (endpoint, id); ids are ULIDs.
        m.create_index(index(
            "idx_webhook_deliveries_org",
            WebhookDeliveries::Table,
            &["organization_id", "id"],
        ))
        .await?;
        m.create_index(index(
            "idx_webhook_deliveries_endpoint",
            WebhookDeliveries::Table,
            &["endpoint_id", "status", "id"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(WebhookAttempts::Table)
                .col(string(WebhookAttempts::Id).primary_key())
                .col(string(WebhookAttempts::DeliveryId))
                .col(string(WebhookAttempts::EndpointId))
                .col(integer(WebhookAttempts::Attempt))
                .col(big_integer(WebhookAttempts::StartedAt))
                .col(integer(WebhookAttempts::DurationMs))
                .col(text(WebhookAttempts::RequestHeaders))
                .col(integer_null(WebhookAttempts::StatusCode))
                .col(text_null(WebhookAttempts::ResponseHeaders))
                .col(text_null(WebhookAttempts::ResponseBody))
                .col(string_null(WebhookAttempts::ErrorClass))
                .col(text_null(WebhookAttempts::Error))
                .foreign_key(
                    ForeignKey::create()
                        .from(WebhookAttempts::Table, WebhookAttempts::DeliveryId)
                        .to(WebhookDeliveries::Table, WebhookDeliveries::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_webhook_attempts_delivery",
            WebhookAttempts::Table,
            &["delivery_id"],
        ))
        .await?;
        // Statistics read an endpoint's attempts by time.
        m.create_index(index(
            "idx_webhook_attempts_endpoint_time",
            WebhookAttempts::Table,
            &["endpoint_id", "started_at"],
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            WebhookAttempts::Table.into_iden(),
            WebhookDeliveries::Table.into_iden(),
            WebhookEndpoints::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
