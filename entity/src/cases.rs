//! `cases`: complaints and follow-ups, each with an owner, a deadline and a timeline.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "cases")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub senior_id: i64,
    pub community_id: i64,
    #[sea_orm(column_type = "Text")]
    pub category: String,
    #[sea_orm(column_type = "Text")]
    pub severity: String,
    #[sea_orm(column_type = "Text")]
    pub source: String,
    #[sea_orm(column_type = "Text")]
    pub status: String,
    #[sea_orm(column_type = "Text")]
    pub summary: String,
    #[sea_orm(column_type = "Text")]
    pub description: Option<String>,
    pub owner_id: Option<i64>,
    pub received_by: Option<i64>,
    #[sea_orm(unique)]
    pub survey_id: Option<i64>,
    pub task_id: Option<i64>,
    pub due_at: DateTimeUtc,
    pub escalated_at: Option<DateTimeUtc>,
    pub escalated_to: Option<i64>,
    #[sea_orm(column_type = "Text")]
    pub resolution: Option<String>,
    pub resolved_at: Option<DateTimeUtc>,
    pub resolved_by: Option<i64>,
    pub senior_confirmed: Option<bool>,
    #[sea_orm(column_type = "Text")]
    pub confirmation_note: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    #[sea_orm(default_value = 1)]
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::case_actions::Entity")]
    Actions,
}

impl Related<super::case_actions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Actions.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
