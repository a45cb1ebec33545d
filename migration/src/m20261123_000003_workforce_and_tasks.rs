//! Workforce, devices, service plans and tasks: `responders`, `responder_communities`, `responder_shifts`,
//! `responder_absences`, `devices`, `service_plans`, `tasks`, `task_offers`, `task_events`, `alarms`.

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
                    .table(Responders::Table)
                    .col(big_pk_auto(Responders::Id))
                    .col(big_integer_uniq(Responders::UserId))
                    .col(text(Responders::Kind))
                    .col(json_binary(Responders::Skills))
                    .col(text_null(Responders::NursingLicence))
                    .col(date_null(Responders::LicenceExpiresOn))
                    .col(double(Responders::HomeLatitude))
                    .col(double(Responders::HomeLongitude))
                    .col(big_integer(Responders::HomeCell))
                    .col(text(Responders::TravelMode))
                    .col(integer(Responders::MaxConcurrent))
                    .col(boolean(Responders::OnDuty))
                    .col(double_null(Responders::LastLatitude))
                    .col(double_null(Responders::LastLongitude))
                    .col(double_null(Responders::LastAccuracyM))
                    .col(big_integer_null(Responders::LastCell))
                    .col(timestamp_with_time_zone_null(Responders::LastSeenAt))
                    .col(timestamp_with_time_zone(Responders::CreatedAt))
                    .col(timestamp_with_time_zone(Responders::UpdatedAt))
                    .col(integer(Responders::Version).default(1))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_responders_user_id")
                            .from(Responders::Table, Responders::UserId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_responders_home_cell")
                    .table(Responders::Table)
                    .col(Responders::HomeCell)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_responders_last_cell")
                    .table(Responders::Table)
                    .col(Responders::LastCell)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ResponderCommunities::Table)
                    .col(big_integer(ResponderCommunities::ResponderId))
                    .col(big_integer(ResponderCommunities::CommunityId))
                    .primary_key(
                        Index::create().col(ResponderCommunities::ResponderId).col(ResponderCommunities::CommunityId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_responder_communities_responder_id")
                            .from(ResponderCommunities::Table, ResponderCommunities::ResponderId)
                            .to(Responders::Table, Responders::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_responder_communities_community_id")
                            .from(ResponderCommunities::Table, ResponderCommunities::CommunityId)
                            .to(Communities::Table, Communities::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ResponderShifts::Table)
                    .col(big_pk_auto(ResponderShifts::Id))
                    .col(big_integer(ResponderShifts::ResponderId))
                    .col(small_integer(ResponderShifts::Weekday))
                    .col(time(ResponderShifts::StartsAt))
                    .col(time(ResponderShifts::EndsAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_responder_shifts_responder_id")
                            .from(ResponderShifts::Table, ResponderShifts::ResponderId)
                            .to(Responders::Table, Responders::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ResponderAbsences::Table)
                    .col(big_pk_auto(ResponderAbsences::Id))
                    .col(big_integer(ResponderAbsences::ResponderId))
                    .col(date(ResponderAbsences::StartsOn))
                    .col(date(ResponderAbsences::EndsOn))
                    .col(text(ResponderAbsences::Reason))
                    .col(text_null(ResponderAbsences::Note))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_responder_absences_responder_id")
                            .from(ResponderAbsences::Table, ResponderAbsences::ResponderId)
                            .to(Responders::Table, Responders::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Devices::Table)
                    .col(big_pk_auto(Devices::Id))
                    .col(big_integer(Devices::SeniorId))
                    .col(text(Devices::Label))
                    .col(text_uniq(Devices::ApiKeyHash))
                    .col(text(Devices::ApiKeyPrefix))
                    .col(big_integer_null(Devices::CreatedBy))
                    .col(timestamp_with_time_zone(Devices::CreatedAt))
                    .col(timestamp_with_time_zone_null(Devices::LastSeenAt))
                    .col(timestamp_with_time_zone_null(Devices::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_devices_senior_id")
                            .from(Devices::Table, Devices::SeniorId)
                            .to(Seniors::Table, Seniors::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_devices_created_by")
                            .from(Devices::Table, Devices::CreatedBy)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ServicePlans::Table)
                    .col(big_pk_auto(ServicePlans::Id))
                    .col(big_integer(ServicePlans::SeniorId))
                    .col(text(ServicePlans::Kind))
                    .col(json_binary(ServicePlans::Weekdays))
                    .col(time(ServicePlans::WindowStart))
                    .col(time(ServicePlans::WindowEnd))
                    .col(date(ServicePlans::StartsOn))
                    .col(date_null(ServicePlans::EndsOn))
                    .col(big_integer(ServicePlans::FeeFen))
                    .col(big_integer(ServicePlans::PriceFen))
                    .col(big_integer_null(ServicePlans::StationId))
                    .col(json_binary(ServicePlans::Details))
                    .col(text(ServicePlans::Status))
                    .col(date_null(ServicePlans::SuspendedFrom))
                    .col(date_null(ServicePlans::SuspendedUntil))
                    .col(big_integer_null(ServicePlans::CreatedBy))
                    .col(timestamp_with_time_zone(ServicePlans::CreatedAt))
                    .col(timestamp_with_time_zone(ServicePlans::UpdatedAt))
                    .col(integer(ServicePlans::Version).default(1))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_service_plans_senior_id")
                            .from(ServicePlans::Table, ServicePlans::SeniorId)
                            .to(Seniors::Table, Seniors::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_service_plans_station_id")
                            .from(ServicePlans::Table, ServicePlans::StationId)
                            .to(Stations::Table, Stations::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Tasks::Table)
                    .col(big_pk_auto(Tasks::Id))
                    .col(text(Tasks::Kind))
                    .col(big_integer(Tasks::SeniorId))
                    .col(big_integer(Tasks::CommunityId))
                    .col(big_integer_null(Tasks::PlanId))
                    .col(big_integer_null(Tasks::StationId))
                    .col(date_null(Tasks::ServiceDate))
                    .col(timestamp_with_time_zone_null(Tasks::WindowStart))
                    .col(timestamp_with_time_zone_null(Tasks::WindowEnd))
                    .col(small_integer(Tasks::Priority))
                    .col(text(Tasks::Status))
                    .col(big_integer_null(Tasks::AssigneeId))
                    .col(small_integer(Tasks::EscalationLevel))
                    .col(timestamp_with_time_zone_null(Tasks::NextDeadlineAt))
                    .col(timestamp_with_time_zone_null(Tasks::CheckInAt))
                    .col(double_null(Tasks::CheckInLatitude))
                    .col(double_null(Tasks::CheckInLongitude))
                    .col(double_null(Tasks::CheckInDistanceM))
                    .col(timestamp_with_time_zone_null(Tasks::CheckOutAt))
                    .col(double_null(Tasks::CheckOutLatitude))
                    .col(double_null(Tasks::CheckOutLongitude))
                    .col(double_null(Tasks::CheckOutDistanceM))
                    .col(boolean(Tasks::VisitFlagged))
                    .col(text_null(Tasks::Outcome))
                    .col(text_null(Tasks::FailureReason))
                    .col(text_null(Tasks::Notes))
                    .col(big_integer(Tasks::FeeFen))
                    .col(big_integer(Tasks::PriceFen))
                    .col(json_binary(Tasks::Details))
                    .col(big_integer_null(Tasks::CreatedBy))
                    .col(timestamp_with_time_zone(Tasks::CreatedAt))
                    .col(timestamp_with_time_zone(Tasks::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Tasks::CompletedAt))
                    .col(integer(Tasks::Version).default(1))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_tasks_senior_id")
                            .from(Tasks::Table, Tasks::SeniorId)
                            .to(Seniors::Table, Seniors::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_tasks_community_id")
                            .from(Tasks::Table, Tasks::CommunityId)
                            .to(Communities::Table, Communities::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_tasks_plan_id")
                            .from(Tasks::Table, Tasks::PlanId)
                            .to(ServicePlans::Table, ServicePlans::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_tasks_assignee_id")
                            .from(Tasks::Table, Tasks::AssigneeId)
                            .to(Responders::Table, Responders::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_tasks_created_by")
                            .from(Tasks::Table, Tasks::CreatedBy)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_tasks_plan_id_service_date")
                    .table(Tasks::Table)
                    .col(Tasks::PlanId)
                    .col(Tasks::ServiceDate)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_tasks_community_id_status")
                    .table(Tasks::Table)
                    .col(Tasks::CommunityId)
                    .col(Tasks::Status)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_tasks_assignee_id_status")
                    .table(Tasks::Table)
                    .col(Tasks::AssigneeId)
                    .col(Tasks::Status)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("idx_tasks_senior_id").table(Tasks::Table).col(Tasks::SeniorId).to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_tasks_next_deadline_at")
                    .table(Tasks::Table)
                    .col(Tasks::NextDeadlineAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("idx_tasks_created_at").table(Tasks::Table).col(Tasks::CreatedAt).to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TaskOffers::Table)
                    .col(big_pk_auto(TaskOffers::Id))
                    .col(big_integer(TaskOffers::TaskId))
                    .col(big_integer(TaskOffers::ResponderId))
                    .col(text(TaskOffers::Status))
                    .col(small_integer(TaskOffers::Round))
                    .col(double_null(TaskOffers::DistanceM))
                    .col(timestamp_with_time_zone(TaskOffers::OfferedAt))
                    .col(timestamp_with_time_zone_null(TaskOffers::RespondedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_task_offers_task_id")
                            .from(TaskOffers::Table, TaskOffers::TaskId)
                            .to(Tasks::Table, Tasks::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_task_offers_responder_id")
                            .from(TaskOffers::Table, TaskOffers::ResponderId)
                            .to(Responders::Table, Responders::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_task_offers_task_id_responder_id")
                    .table(TaskOffers::Table)
                    .col(TaskOffers::TaskId)
                    .col(TaskOffers::ResponderId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_task_offers_responder_id_status")
                    .table(TaskOffers::Table)
                    .col(TaskOffers::ResponderId)
                    .col(TaskOffers::Status)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TaskEvents::Table)
                    .col(big_pk_auto(TaskEvents::Id))
                    .col(big_integer(TaskEvents::TaskId))
                    .col(text(TaskEvents::Kind))
                    .col(text_null(TaskEvents::FromStatus))
                    .col(text_null(TaskEvents::ToStatus))
                    .col(big_integer_null(TaskEvents::ActorUserId))
                    .col(text(TaskEvents::ActorKind))
                    .col(double_null(TaskEvents::Latitude))
                    .col(double_null(TaskEvents::Longitude))
                    .col(json_binary(TaskEvents::Details))
                    .col(timestamp_with_time_zone(TaskEvents::At))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_task_events_task_id")
                            .from(TaskEvents::Table, TaskEvents::TaskId)
                            .to(Tasks::Table, Tasks::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_task_events_task_id_id")
                    .table(TaskEvents::Table)
                    .col(TaskEvents::TaskId)
                    .col(TaskEvents::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Alarms::Table)
                    .col(big_pk_auto(Alarms::Id))
                    .col(big_integer(Alarms::DeviceId))
                    .col(big_integer(Alarms::SeniorId))
                    .col(big_integer(Alarms::CommunityId))
                    .col(text(Alarms::EventId))
                    .col(text(Alarms::RequestHash))
                    .col(big_integer_null(Alarms::TaskId))
                    .col(timestamp_with_time_zone_null(Alarms::OccurredAt))
                    .col(timestamp_with_time_zone(Alarms::ReceivedAt))
                    .col(text(Alarms::Stage))
                    .col(timestamp_with_time_zone_null(Alarms::AcceptedAt))
                    .col(timestamp_with_time_zone_null(Alarms::ArrivedAt))
                    .col(timestamp_with_time_zone_null(Alarms::FamilyNotifiedAt))
                    .col(timestamp_with_time_zone_null(Alarms::Call120FlaggedAt))
                    .col(text_null(Alarms::Outcome))
                    .col(timestamp_with_time_zone_null(Alarms::ClosedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_alarms_device_id")
                            .from(Alarms::Table, Alarms::DeviceId)
                            .to(Devices::Table, Devices::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_alarms_senior_id")
                            .from(Alarms::Table, Alarms::SeniorId)
                            .to(Seniors::Table, Seniors::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_alarms_community_id")
                            .from(Alarms::Table, Alarms::CommunityId)
                            .to(Communities::Table, Communities::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_alarms_task_id")
                            .from(Alarms::Table, Alarms::TaskId)
                            .to(Tasks::Table, Tasks::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_alarms_device_id_event_id")
                    .table(Alarms::Table)
                    .col(Alarms::DeviceId)
                    .col(Alarms::EventId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_alarms_community_id_received_at")
                    .table(Alarms::Table)
                    .col(Alarms::CommunityId)
                    .col(Alarms::ReceivedAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Alarms::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(TaskEvents::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(TaskOffers::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Tasks::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(ServicePlans::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Devices::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(ResponderAbsences::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(ResponderShifts::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(ResponderCommunities::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Responders::Table).to_owned()).await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Responders {
    Table,
    Id,
    UserId,
    Kind,
    Skills,
    NursingLicence,
    LicenceExpiresOn,
    HomeLatitude,
    HomeLongitude,
    HomeCell,
    TravelMode,
    MaxConcurrent,
    OnDuty,
    LastLatitude,
    LastLongitude,
    LastAccuracyM,
    LastCell,
    LastSeenAt,
    CreatedAt,
    UpdatedAt,
    Version,
}

#[derive(DeriveIden)]
enum ResponderCommunities {
    Table,
    ResponderId,
    CommunityId,
}

#[derive(DeriveIden)]
enum ResponderShifts {
    Table,
    Id,
    ResponderId,
    Weekday,
    StartsAt,
    EndsAt,
}

#[derive(DeriveIden)]
enum ResponderAbsences {
    Table,
    Id,
    ResponderId,
    StartsOn,
    EndsOn,
    Reason,
    Note,
}

#[derive(DeriveIden)]
enum Devices {
    Table,
    Id,
    SeniorId,
    Label,
    ApiKeyHash,
    ApiKeyPrefix,
    CreatedBy,
    CreatedAt,
    LastSeenAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum ServicePlans {
    Table,
    Id,
    SeniorId,
    Kind,
    Weekdays,
    WindowStart,
    WindowEnd,
    StartsOn,
    EndsOn,
    FeeFen,
    PriceFen,
    StationId,
    Details,
    Status,
    SuspendedFrom,
    SuspendedUntil,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    Version,
}

#[derive(DeriveIden)]
enum Tasks {
    Table,
    Id,
    Kind,
    SeniorId,
    CommunityId,
    PlanId,
    StationId,
    ServiceDate,
    WindowStart,
    WindowEnd,
    Priority,
    Status,
    AssigneeId,
    EscalationLevel,
    NextDeadlineAt,
    CheckInAt,
    CheckInLatitude,
    CheckInLongitude,
    CheckInDistanceM,
    CheckOutAt,
    CheckOutLatitude,
    CheckOutLongitude,
    CheckOutDistanceM,
    VisitFlagged,
    Outcome,
    FailureReason,
    Notes,
    FeeFen,
    PriceFen,
    Details,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    CompletedAt,
    Version,
}

#[derive(DeriveIden)]
enum TaskOffers {
    Table,
    Id,
    TaskId,
    ResponderId,
    Status,
    Round,
    DistanceM,
    OfferedAt,
    RespondedAt,
}

#[derive(DeriveIden)]
enum TaskEvents {
    Table,
    Id,
    TaskId,
    Kind,
    FromStatus,
    ToStatus,
    ActorUserId,
    ActorKind,
    Latitude,
    Longitude,
    Details,
    At,
}

#[derive(DeriveIden)]
enum Alarms {
    Table,
    Id,
    DeviceId,
    SeniorId,
    CommunityId,
    EventId,
    RequestHash,
    TaskId,
    OccurredAt,
    ReceivedAt,
    Stage,
    AcceptedAt,
    ArrivedAt,
    FamilyNotifiedAt,
    #[sea_orm(iden = "call_120_flagged_at")]
    Call120FlaggedAt,
    Outcome,
    ClosedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Communities {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Seniors {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Stations {
    Table,
    Id,
}
