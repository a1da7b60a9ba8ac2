//! Notifications: channels (Slack, Discord, email, SMS; secrets live in the vault),
//! templates per event type and channel family, rules that say which event sends what to
//! whom, and one log row per message with its rendered text and outcome. Guests may opt
//! out of reminders per booking. Times are epoch milliseconds.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Bookings {
    Table,
    RemindersOptOut,
}

#[derive(DeriveIden)]
enum NotificationChannels {
    Table,
    Id,
    OrganizationId,
    Kind,
    Name,
    Settings,
    SecretHint,
    Enabled,
    MonthlyQuota,
    ConsecutiveFailures,
    PausedUntil,
    BrokenAt,
    BrokenReason,
    LastSuccessAt,
    LastFailureAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum NotificationTemplates {
    Table,
    Id,
    OrganizationId,
    EventType,
    Family,
    Subject,
    Body,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum NotificationRules {
    Table,
    Id,
    OrganizationId,
    EventType,
    ChannelId,
    Recipient,
    RemindHours,
    Enabled,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    OrganizationId,
    ChannelId,
    RuleId,
    EventId,
    EventType,
    EntityId,
    RecipientKind,
    Recipient,
    Status,
    SkipReason,
    Attempts,
    LastError,
    ProviderStatus,
    ProviderResponse,
    Subject,
    Body,
    SendAt,
    ScheduledFor,
    JobId,
    CreatedAt,
    UpdatedAt,
    SentAt,
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
        m.alter_table(
            Table::alter()
                .table(Bookings::Table)
                .add_column(boolean(Bookings::RemindersOptOut).default(false))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(NotificationChannels::Table)
                .col(string(NotificationChannels::Id).primary_key())
                .col(string(NotificationChannels::OrganizationId))
                .col(string(NotificationChannels::Kind))
                .col(string(NotificationChannels::Name))
                .col(text(NotificationChannels::Settings))
                .col(string(NotificationChannels::SecretHint))
                .col(boolean(NotificationChannels::Enabled))
                .col(integer_null(NotificationChannels::MonthlyQuota))
                .col(integer(NotificationChannels::ConsecutiveFailures).default(0))
                .col(big_integer_null(NotificationChannels::PausedUntil))
                .col(big_integer_null(NotificationChannels::BrokenAt))
                .col(text_null(NotificationChannels::BrokenReason))
                .col(big_integer_null(NotificationChannels::LastSuccessAt))
                .col(big_integer_null(NotificationChannels::LastFailureAt))
                .col(big_integer(NotificationChannels::CreatedAt))
                .col(big_integer(NotificationChannels::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            NotificationChannels::Table,
                            NotificationChannels::OrganizationId,
                        )
                        .to(Organizations::Table, Organizations::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_notification_channels_org",
            NotificationChannels::Table,
            &["organization_id"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(NotificationTemplates::Table)
                .col(string(NotificationTemplates::Id).primary_key())
                .col(string(NotificationTemplates::OrganizationId))
                .col(string(NotificationTemplates::EventType))
                .col(string(NotificationTemplates::Family))
                .col(text(NotificationTemplates::Subject))
                .col(text(NotificationTemplates::Body))
                .col(big_integer(NotificationTemplates::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            NotificationTemplates::Table,
                            NotificationTemplates::OrganizationId,
                        )
                        .to(Organizations::Table, Organizations::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                "idx_notification_templates_key",
                NotificationTemplates::Table,
                &["organization_id", "event_type", "family"],
            )
            .unique()
            .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(NotificationRules::Table)
                .col(string(NotificationRules::Id).primary_key())
                .col(string(NotificationRules::OrganizationId))
                .col(string(NotificationRules::EventType))
                .col(string(NotificationRules::ChannelId))
                .col(string(NotificationRules::Recipient))
                .col(integer_null(NotificationRules::RemindHours))
                .col(boolean(NotificationRules::Enabled))
                .col(big_integer(NotificationRules::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(NotificationRules::Table, NotificationRules::ChannelId)
                        .to(NotificationChannels::Table, NotificationChannels::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_notification_rules_org",
            NotificationRules::Table,
            &["organization_id", "event_type"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Notifications::Table)
                .col(string(Notifications::Id).primary_key())
                .col(string(Notifications::OrganizationId))
                .col(string(Notifications::ChannelId))
                .col(string_null(Notifications::RuleId))
                .col(string_null(Notifications::EventId))
                .col(string(Notifications::EventType))
                .col(string(Notifications::EntityId))
                .col(string(Notifications::RecipientKind))
                .col(text_null(Notifications::Recipient))
                .col(string(Notifications::Status))
                .col(text_null(Notifications::SkipReason))
                .col(integer(Notifications::Attempts).default(0))
                .col(text_null(Notifications::LastError))
                .col(integer_null(Notifications::ProviderStatus))
                .col(text_null(Notifications::ProviderResponse))
                .col(text_null(Notifications::Subject))
                .col(text_null(Notifications::Body))
                .col(big_integer(Notifications::SendAt))
                .col(big_integer_null(Notifications::ScheduledFor))
                .col(string(Notifications::JobId))
                .col(big_integer(Notifications::CreatedAt))
                .col(big_integer(Notifications::UpdatedAt))
                .col(big_integer_null(Notifications::SentAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Notifications::Table, Notifications::ChannelId)
                        .to(NotificationChannels::Table, NotificationChannels::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // The log pages by (org, id); reminders are found by their booking; quotas count
        // a channel's sends this month.
        m.create_index(index(
            "idx_notifications_org",
            Notifications::Table,
            &["organization_id", "id"],
        ))
        .await?;
        m.create_index(index(
            "idx_notifications_entity",
            Notifications::Table,
            &["entity_id", "status"],
        ))
        .await?;
        m.create_index(index(
            "idx_notifications_channel_sent",
            Notifications::Table,
            &["channel_id", "sent_at"],
        ))
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            Notifications::Table.into_iden(),
            NotificationRules::Table.into_iden(),
            NotificationTemplates::Table.into_iden(),
            NotificationChannels::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        m.alter_table(
            Table::alter()
                .table(Bookings::Table)
                .drop_column(Bookings::RemindersOptOut)
                .to_owned(),
        )
        .await
    }
}
