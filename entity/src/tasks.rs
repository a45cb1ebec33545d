//! `tasks`: emergency responses and scheduled visits.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "tasks")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(column_type = "Text")]
    pub kind: String,
    pub senior_id: i64,
    pub community_id: i64,
    pub plan_id: Option<i64>,
    pub station_id: Option<i64>,
    pub service_date: Option<Date>,
    pub window_start: Option<DateTimeUtc>,
    pub window_end: Option<DateTimeUtc>,
    pub priority: i16,
    #[sea_orm(column_type = "Text")]
    pub status: String,
    pub assignee_id: Option<i64>,
    pub escalation_level: i16,
    pub next_deadline_at: Option<DateTimeUtc>,
    pub check_in_at: Option<DateTimeUtc>,
    pub check_in_latitude: Option<f64>,
    pub check_in_longitude: Option<f64>,
    pub check_in_distance_m: Option<f64>,
    pub check_out_at: Option<DateTimeUtc>,
    pub check_out_latitude: Option<f64>,
    pub check_out_longitude: Option<f64>,
    pub check_out_distance_m: Option<f64>,
    pub visit_flagged: bool,
    #[sea_orm(column_type = "Text")]
    pub outcome: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub failure_reason: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub notes: Option<String>,
    pub fee_fen: i64,
    pub price_fen: i64,
    #[sea_orm(column_type = "JsonBinary")]
    pub details: Json,
    pub created_by: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub completed_at: Option<DateTimeUtc>,
    #[sea_orm(default_value = 1)]
    pub version: i32,
    /// Who confirmed the visit took place (a worker, or the responder's phone for
    /// the senior or family), when, and the source: `senior`, `family` or `worker`.
    pub confirmed_by: Option<i64>,
    pub confirmed_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text")]
    pub confirmation_source: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "super::seniors::Entity", from = "Column::SeniorId", to = "super::seniors::Column::Id")]
    Senior,
    #[sea_orm(
        belongs_to = "super::communities::Entity",
        from = "Column::CommunityId",
        to = "super::communities::Column::Id"
    )]
    Community,
    #[sea_orm(
        belongs_to = "super::service_plans::Entity",
        from = "Column::PlanId",
        to = "super::service_plans::Column::Id"
    )]
    Plan,
    #[sea_orm(
        belongs_to = "super::responders::Entity",
        from = "Column::AssigneeId",
        to = "super::responders::Column::Id"
    )]
    Assignee,
    #[sea_orm(belongs_to = "super::users::Entity", from = "Column::CreatedBy", to = "super::users::Column::Id")]
    CreatedBy,
    #[sea_orm(has_many = "super::task_events::Entity")]
    TaskEvents,
    #[sea_orm(has_many = "super::task_offers::Entity")]
    TaskOffers,
    #[sea_orm(has_many = "super::alarms::Entity")]
    Alarms,
}

impl Related<super::seniors::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Senior.def()
    }
}

impl Related<super::communities::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Community.def()
    }
}

impl Related<super::service_plans::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Plan.def()
    }
}

impl Related<super::responders::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Assignee.def()
    }
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::CreatedBy.def()
    }
}

impl Related<super::task_events::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::TaskEvents.def()
    }
}

impl Related<super::task_offers::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::TaskOffers.def()
    }
}

impl Related<super::alarms::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Alarms.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
