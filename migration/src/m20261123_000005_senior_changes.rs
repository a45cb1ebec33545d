//! `senior_changes`: events a worker marks on a senior (hospital discharge, a fall)
//! that make a reassessment due at once.

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
                    .table(SeniorChanges::Table)
                    .col(big_pk_auto(SeniorChanges::Id))
                    .col(big_integer(SeniorChanges::SeniorId))
                    .col(text(SeniorChanges::Kind))
                    .col(date(SeniorChanges::OccurredOn))
                    .col(text_null(SeniorChanges::Note))
                    .col(big_integer_null(SeniorChanges::RecordedBy))
                    .col(timestamp_with_time_zone(SeniorChanges::RecordedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_senior_changes_senior_id")
                            .from(SeniorChanges::Table, SeniorChanges::SeniorId)
                            .to(Seniors::Table, Seniors::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_senior_changes_recorded_by")
                            .from(SeniorChanges::Table, SeniorChanges::RecordedBy)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_senior_changes_senior_id")
                    .table(SeniorChanges::Table)
                    .col(SeniorChanges::SeniorId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_consents_senior_id_scope")
                    .table(Consents::Table)
                    .col(Consents::SeniorId)
                    .col(Consents::Scope)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("ix_consents_senior_id_scope").table(Consents::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(SeniorChanges::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum SeniorChanges {
    Table,
    Id,
    SeniorId,
    Kind,
    OccurredOn,
    Note,
    RecordedBy,
    RecordedAt,
}

#[derive(DeriveIden)]
enum Seniors {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Consents {
    Table,
    SeniorId,
    Scope,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}
