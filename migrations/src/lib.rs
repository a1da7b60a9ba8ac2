//! Database schema for Hitch, as sea-orm migrations. Runs on SQLite and PostgreSQL.
pub use sea_orm_migration::prelude::*;

mod m20261122_000001_foundation;
mod m20261122_000002_platform;
mod m20261122_000003_job_leases;
mod m20261122_000004_webhooks;
mod m20261123_000005_payments;
mod m20261123_000006_portal;
mod m20261203_000007_stripe_pending;
mod m20261203_000008_bookings_list_order;
mod m20261204_000009_reasons_and_refusals;
mod m20261204_000010_notifications;
mod m20261205_000011_calendar_feeds;
mod m20261205_000012_api_key_scopes;
mod m20261205_000013_calendar_sync;
mod m20261206_000014_shared_limits;
mod m20261207_000015_job_key_limits;
mod m20261208_000016_job_claim_index;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_foundation::Migration),
            Box::new(m20261122_000002_platform::Migration),
            Box::new(m20261122_000003_job_leases::Migration),
            Box::new(m20261122_000004_webhooks::Migration),
            Box::new(m20261123_000005_payments::Migration),
            Box::new(m20261123_000006_portal::Migration),
            Box::new(m20261203_000007_stripe_pending::Migration),
            Box::new(m20261203_000008_bookings_list_order::Migration),
            Box::new(m20261204_000009_reasons_and_refusals::Migration),
            Box::new(m20261204_000010_notifications::Migration),
            Box::new(m20261205_000011_calendar_feeds::Migration),
            Box::new(m20261205_000012_api_key_scopes::Migration),
            Box::new(m20261205_000013_calendar_sync::Migration),
            Box::new(m20261206_000014_shared_limits::Migration),
            Box::new(m20261207_000015_job_key_limits::Migration),
            Box::new(m20261208_000016_job_claim_index::Migration),
        ]
    }
}
