//! Seniors: `seniors`, `contacts`, `consents`, `assessments`, `tier_changes`.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    // SQLite has transactional DDL too: a migration that fails leaves nothing behind.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Seniors::Table)
                    .col(big_pk_auto(Seniors::Id))
                    .col(big_integer(Seniors::CommunityId))
                    .col(text(Seniors::Name))
                    .col(text(Seniors::Gender))
                    .col(date(Seniors::BirthDate))
                    .col(text(Seniors::IdNumberEnc))
                    .col(text_uniq(Seniors::IdNumberHash))
                    .col(text(Seniors::IdNumberMasked))
                    .col(text(Seniors::Phone))
                    .col(text(Seniors::Address))
                    .col(double(Seniors::Latitude))
                    .col(double(Seniors::Longitude))
                    .col(big_integer(Seniors::Cell))
                    .col(boolean(Seniors::OutsideBoundary))
                    .col(text(Seniors::LivingArrangement))
                    .col(text(Seniors::EconomicStatus))
                    .col(json_binary(Seniors::MedicalNotes))
                    .col(text(Seniors::Status))
                    .col(date(Seniors::StatusSince))
                    .col(text_null(Seniors::Tier))
                    .col(json_binary(Seniors::Flags))
                    .col(text_null(Seniors::TierRulesVersion))
                    .col(boolean(Seniors::HasBell))
                    .col(date_null(Seniors::ReassessmentDueOn))
                    .col(big_integer_null(Seniors::CreatedBy))
                    .col(timestamp_with_time_zone(Seniors::CreatedAt))
                    .col(timestamp_with_time_zone(Seniors::UpdatedAt))
                    .col(integer(Seniors::Version).default(1))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_seniors_community_id")
                            .from(Seniors::Table, Seniors::CommunityId)
                            .to(Communities::Table, Communities::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_seniors_created_by")
                            .from(Seniors::Table, Seniors::CreatedBy)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_seniors_community_id")
                    .table(Seniors::Table)
                    .col(Seniors::CommunityId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(Index::create().name("idx_seniors_cell").table(Seniors::Table).col(Seniors::Cell).to_owned())
            .await?;
        manager
            .create_index(Index::create().name("idx_seniors_tier").table(Seniors::Table).col(Seniors::Tier).to_owned())
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Contacts::Table)
                    .col(big_pk_auto(Contacts::Id))
                    .col(big_integer(Contacts::SeniorId))
                    .col(text(Contacts::Name))
                    .col(text(Contacts::Relation))
                    .col(text(Contacts::Phone))
                    .col(integer(Contacts::CallOrder))
                    .col(boolean(Contacts::IsKeyholder))
                    .col(timestamp_with_time_zone(Contacts::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_contacts_senior_id")
                            .from(Contacts::Table, Contacts::SeniorId)
                            .to(Seniors::Table, Seniors::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Consents::Table)
                    .col(big_pk_auto(Consents::Id))
                    .col(big_integer(Consents::SeniorId))
                    .col(text(Consents::Scope))
                    .col(boolean(Consents::Granted))
                    .col(text(Consents::GrantedBy))
                    .col(text_null(Consents::GuardianName))
                    .col(big_integer(Consents::RecordedBy))
                    .col(timestamp_with_time_zone(Consents::RecordedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_consents_senior_id")
                            .from(Consents::Table, Consents::SeniorId)
                            .to(Seniors::Table, Seniors::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_consents_recorded_by")
                            .from(Consents::Table, Consents::RecordedBy)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Assessments::Table)
                    .col(big_pk_auto(Assessments::Id))
                    .col(big_integer(Assessments::SeniorId))
                    .col(big_integer_null(Assessments::AssessorId))
                    .col(timestamp_with_time_zone(Assessments::AssessedAt))
                    .col(text(Assessments::Reason))
                    .col(small_integer(Assessments::Feeding))
                    .col(small_integer(Assessments::Bathing))
                    .col(small_integer(Assessments::Grooming))
                    .col(small_integer(Assessments::Dressing))
                    .col(small_integer(Assessments::Bowels))
                    .col(small_integer(Assessments::Bladder))
                    .col(small_integer(Assessments::ToiletUse))
                    .col(small_integer(Assessments::Transfers))
                    .col(small_integer(Assessments::Mobility))
                    .col(small_integer(Assessments::Stairs))
                    .col(small_integer(Assessments::BarthelTotal))
                    .col(text(Assessments::DependencyLevel))
                    .col(small_integer(Assessments::SpmsqErrors))
                    .col(text(Assessments::CognitionLevel))
                    .col(text_null(Assessments::Notes))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_assessments_senior_id")
                            .from(Assessments::Table, Assessments::SeniorId)
                            .to(Seniors::Table, Seniors::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_assessments_assessor_id")
                            .from(Assessments::Table, Assessments::AssessorId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_assessments_senior_id_assessed_at")
                    .table(Assessments::Table)
                    .col(Assessments::SeniorId)
                    .col(Assessments::AssessedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TierChanges::Table)
                    .col(big_pk_auto(TierChanges::Id))
                    .col(big_integer(TierChanges::SeniorId))
                    .col(text_null(TierChanges::FromTier))
                    .col(text(TierChanges::ToTier))
                    .col(json_binary(TierChanges::Flags))
                    .col(text(TierChanges::Rule))
                    .col(text(TierChanges::RulesVersion))
                    .col(json_binary(TierChanges::Reasons))
                    .col(timestamp_with_time_zone(TierChanges::ChangedAt))
                    .col(big_integer_null(TierChanges::ActorUserId))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_tier_changes_senior_id")
                            .from(TierChanges::Table, TierChanges::SeniorId)
                            .to(Seniors::Table, Seniors::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(TierChanges::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Assessments::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Consents::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Contacts::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Seniors::Table).to_owned()).await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Seniors {
    Table,
    Id,
    CommunityId,
    Name,
    Gender,
    BirthDate,
    IdNumberEnc,
    IdNumberHash,
    IdNumberMasked,
    Phone,
    Address,
    Latitude,
    Longitude,
    Cell,
    OutsideBoundary,
    LivingArrangement,
    EconomicStatus,
    MedicalNotes,
    Status,
    StatusSince,
    Tier,
    Flags,
    TierRulesVersion,
    HasBell,
    ReassessmentDueOn,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    Version,
}

#[derive(DeriveIden)]
enum Contacts {
    Table,
    Id,
    SeniorId,
    Name,
    Relation,
    Phone,
    CallOrder,
    IsKeyholder,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Consents {
    Table,
    Id,
    SeniorId,
    Scope,
    Granted,
    GrantedBy,
    GuardianName,
    RecordedBy,
    RecordedAt,
}

#[derive(DeriveIden)]
enum Assessments {
    Table,
    Id,
    SeniorId,
    AssessorId,
    AssessedAt,
    Reason,
    Feeding,
    Bathing,
    Grooming,
    Dressing,
    Bowels,
    Bladder,
    ToiletUse,
    Transfers,
    Mobility,
    Stairs,
    BarthelTotal,
    DependencyLevel,
    SpmsqErrors,
    CognitionLevel,
    Notes,
}

#[derive(DeriveIden)]
enum TierChanges {
    Table,
    Id,
    SeniorId,
    FromTier,
    ToTier,
    Flags,
    Rule,
    RulesVersion,
    Reasons,
    ChangedAt,
    ActorUserId,
}

#[derive(DeriveIden)]
enum Communities {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}
