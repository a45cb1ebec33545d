//! `job_runs.heartbeat_at`: a running job writes it every minute, so that a run whose
//! instance died can be told from one that is only long (a city's daily tasks take
//! over an hour) and its window taken over.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(JobRuns::Table)
                    .add_column(timestamp_with_time_zone_null(JobRuns::HeartbeatAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(JobRuns::Table).drop_column(JobRuns::HeartbeatAt).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum JobRuns {
    Table,
    HeartbeatAt,
}
