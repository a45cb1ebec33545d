//! `surveys`: one survey of one senior; `business_key` (unique) makes creating it idempotent.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "surveys")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(column_type = "Text", unique)]
    pub business_key: String,
    #[sea_orm(column_type = "Text")]
    pub kind: String,
    pub template_id: i64,
    pub template_version: i32,
    pub senior_id: i64,
    pub community_id: i64,
    pub task_id: Option<i64>,
    #[sea_orm(column_type = "Text")]
    pub task_kind: Option<String>,
    /// The responder who served (post-service surveys); never the conductor.
    pub responder_id: Option<i64>,
    /// The case a follow-up survey checks on.
    pub case_id: Option<i64>,
    #[sea_orm(column_type = "Text")]
    pub status: String,
    #[sea_orm(column_type = "Text")]
    pub channel: String,
    /// The user who is to conduct the survey.
    pub conductor_id: Option<i64>,
    pub due_on: Date,
    pub expires_at: DateTimeUtc,
    pub reminder_count: i32,
    pub last_reminded_at: Option<DateTimeUtc>,
    pub answered_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    #[sea_orm(default_value = 1)]
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::survey_templates::Entity",
        from = "Column::TemplateId",
        to = "super::survey_templates::Column::Id"
    )]
    Template,
    #[sea_orm(belongs_to = "super::seniors::Entity", from = "Column::SeniorId", to = "super::seniors::Column::Id")]
    Senior,
}

impl Related<super::survey_templates::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Template.def()
    }
}

impl Related<super::seniors::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Senior.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
