//! An index in the order the claim reads each concurrency key's due jobs (state, key,
//! due time), so a claim walks the keys and reads only the head of each key's queue
//! instead of ranking the whole backlog. It also serves every lookup the old
//! (key, state) index did, which it replaces.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name("idx_jobs_key_due")
                .table(Alias::new("jobs"))
                .col(Alias::new("status"))
                .col(Alias::new("concurrency_key"))
                .col(Alias::new("run_at"))
                .col(Alias::new("id"))
                .to_owned(),
        )
        .await?;
        m.drop_index(
            Index::drop()
                .name("idx_jobs_key")
                .table(Alias::new("jobs"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name("idx_jobs_key")
                .table(Alias::new("jobs"))
                .col(Alias::new("concurrency_key"))
                .col(Alias::new("status"))
                .to_owned(),
        )
        .await?;
        m.drop_index(
            Index::drop()
                .name("idx_jobs_key_due")
                .table(Alias::new("jobs"))
                .to_owned(),
        )
        .await
    }
}
