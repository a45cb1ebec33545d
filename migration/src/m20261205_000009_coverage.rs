//! Coverage roll-ups for the bureau and the console: `coverage_cells` (per month, H3
//! resolution, cell and community), `coverage_communities` (per month and community)
//! and `coverage_months` (the watermark: when each month was last refreshed and as of
//! when). Reports read only these tables; the `coverage_refresh` job writes them.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CoverageMonths::Table)
                    .col(text(CoverageMonths::Month).primary_key())
                    .col(timestamp_with_time_zone(CoverageMonths::AsOf))
                    .col(timestamp_with_time_zone(CoverageMonths::RefreshedAt))
                    .col(boolean(CoverageMonths::IsFinal))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CoverageCells::Table)
                    .col(big_pk_auto(CoverageCells::Id))
                    .col(text(CoverageCells::Month))
                    .col(small_integer(CoverageCells::Resolution))
                    .col(big_integer(CoverageCells::Cell))
                    .col(big_integer(CoverageCells::CommunityId))
                    .col(big_integer(CoverageCells::SeniorsTotal))
                    .col(json_binary(CoverageCells::Metrics))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_coverage_cells_month_resolution_cell_community")
                    .table(CoverageCells::Table)
                    .col(CoverageCells::Month)
                    .col(CoverageCells::Resolution)
                    .col(CoverageCells::Cell)
                    .col(CoverageCells::CommunityId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CoverageCommunities::Table)
                    .col(big_pk_auto(CoverageCommunities::Id))
                    .col(text(CoverageCommunities::Month))
                    .col(big_integer(CoverageCommunities::CommunityId))
                    .col(big_integer(CoverageCommunities::SeniorsTotal))
                    .col(json_binary(CoverageCommunities::Metrics))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_coverage_communities_month_community")
                    .table(CoverageCommunities::Table)
                    .col(CoverageCommunities::Month)
                    .col(CoverageCommunities::CommunityId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // The refresh reads a month of completed work and the last 30 days' services.
        manager
            .create_index(
                Index::create().name("idx_tasks_completed_at").table(Tasks::Table).col(Tasks::CompletedAt).to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("idx_tasks_completed_at").table(Tasks::Table).to_owned()).await?;
        for table in [
            CoverageCommunities::Table.into_iden(),
            CoverageCells::Table.into_iden(),
            CoverageMonths::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum CoverageMonths {
    Table,
    Month,
    AsOf,
    RefreshedAt,
    IsFinal,
}

#[derive(DeriveIden)]
enum CoverageCells {
    Table,
    Id,
    Month,
    Resolution,
    Cell,
    CommunityId,
    SeniorsTotal,
    Metrics,
}

#[derive(DeriveIden)]
enum CoverageCommunities {
    Table,
    Id,
    Month,
    CommunityId,
    SeniorsTotal,
    Metrics,
}

#[derive(DeriveIden)]
enum Tasks {
    Table,
    CompletedAt,
}
