//! `senior_changes`: a change in a senior's condition marked by a worker
//! (`hospital_discharge`, `fall`, `other`); it makes a reassessment due.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "senior_changes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub senior_id: i64,
    #[sea_orm(column_type = "Text")]
    pub kind: String,
    pub occurred_on: Date,
    #[sea_orm(column_type = "Text", nullable)]
    pub note: Option<String>,
    pub recorded_by: Option<i64>,
    pub recorded_at: DateTimeUtc,
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
}

impl Related<super::seniors::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Senior.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
