//! An index for the claim query's second half (running jobs whose lease expired), so
//! PostgreSQL can combine two index scans instead of reading every finished job.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name("idx_jobs_lease")
                .table(Alias::new("jobs"))
                .col(Alias::new("status"))
                .col(Alias::new("locked_until"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("idx_jobs_lease")
                .table(Alias::new("jobs"))
                .to_owned(),
        )
        .await
    }
}
