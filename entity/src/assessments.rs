//! `assessments`: Barthel (activities of daily living) and SPMSQ (cognition) assessments.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "assessments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub senior_id: i64,
    pub assessor_id: Option<i64>,
    pub assessed_at: DateTimeUtc,
    #[sea_orm(column_type = "Text")]
    pub reason: String,
    pub feeding: i16,
    pub bathing: i16,
    pub grooming: i16,
    pub dressing: i16,
    pub bowels: i16,
    pub bladder: i16,
    pub toilet_use: i16,
    pub transfers: i16,
    pub mobility: i16,
    pub stairs: i16,
    pub barthel_total: i16,
    #[sea_orm(column_type = "Text")]
    pub dependency_level: String,
    pub spmsq_errors: i16,
    #[sea_orm(column_type = "Text")]
    pub cognition_level: String,
    #[sea_orm(column_type = "Text")]
    pub notes: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::seniors::Entity",
        from = "Column::SeniorId",
        to = "super::seniors::Column::Id",
        on_delete = "Cascade"
    )]
    Senior,
    #[sea_orm(belongs_to = "super::users::Entity", from = "Column::AssessorId", to = "super::users::Column::Id")]
    Assessor,
}

impl Related<super::seniors::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Senior.def()
    }
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Assessor.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
