//! `survey_templates`: versioned survey templates; unique `(code, version)`. `questions`
//! is a JSON array of questions (id, kind, required, text in zh and en, options,
//! serious_answers, case_category).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "survey_templates")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(column_type = "Text")]
    pub code: String,
    pub version: i32,
    #[sea_orm(column_type = "Text")]
    pub title_zh: String,
    #[sea_orm(column_type = "Text")]
    pub title_en: String,
    #[sea_orm(column_type = "Text")]
    pub overall_question: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub questions: Json,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
