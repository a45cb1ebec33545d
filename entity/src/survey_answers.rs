//! `survey_answers`: the answers to one survey (unique `survey_id`), with who, what
//! task, which responder, which channel and which template version they belong to.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "survey_answers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub survey_id: i64,
    pub senior_id: i64,
    pub community_id: i64,
    pub task_id: Option<i64>,
    #[sea_orm(column_type = "Text")]
    pub task_kind: Option<String>,
    pub responder_id: Option<i64>,
    #[sea_orm(column_type = "Text")]
    pub channel: String,
    pub template_id: i64,
    pub template_version: i32,
    /// Question id -> value.
    #[sea_orm(column_type = "JsonBinary")]
    pub answers: Json,
    /// The overall rating (1-5), when the template has one and it was answered.
    pub overall_score: Option<i16>,
    pub recorded_by: Option<i64>,
    pub answered_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "super::surveys::Entity", from = "Column::SurveyId", to = "super::surveys::Column::Id")]
    Survey,
}

impl Related<super::surveys::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Survey.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
