//! `alarms`: alarms raised by devices; `(device_id, event_id)` makes a retried report idempotent.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "alarms")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub device_id: i64,
    pub senior_id: i64,
    pub community_id: i64,
    #[sea_orm(column_type = "Text")]
    pub event_id: String,
    #[sea_orm(column_type = "Text")]
    pub request_hash: String,
    pub task_id: Option<i64>,
    pub occurred_at: Option<DateTimeUtc>,
    pub received_at: DateTimeUtc,
    #[sea_orm(column_type = "Text")]
    pub stage: String,
    pub accepted_at: Option<DateTimeUtc>,
    pub arrived_at: Option<DateTimeUtc>,
    pub family_notified_at: Option<DateTimeUtc>,
    pub call_120_flagged_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text")]
    pub outcome: Option<String>,
    pub closed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "super::devices::Entity", from = "Column::DeviceId", to = "super::devices::Column::Id")]
    Device,
    #[sea_orm(belongs_to = "super::seniors::Entity", from = "Column::SeniorId", to = "super::seniors::Column::Id")]
    Senior,
    #[sea_orm(
        belongs_to = "super::communities::Entity",
        from = "Column::CommunityId",
        to = "super::communities::Column::Id"
    )]
    Community,
    #[sea_orm(belongs_to = "super::tasks::Entity", from = "Column::TaskId", to = "super::tasks::Column::Id")]
    Task,
}

impl Related<super::devices::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Device.def()
    }
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

impl Related<super::tasks::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Task.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
