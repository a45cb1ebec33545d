//! `consents`: consents given by a senior (`granted_by`: `self` or `guardian`).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "consents")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub senior_id: i64,
    #[sea_orm(column_type = "Text")]
    pub scope: String,
    pub granted: bool,
    #[sea_orm(column_type = "Text")]
    pub granted_by: String,
    #[sea_orm(column_type = "Text")]
    pub guardian_name: Option<String>,
    pub recorded_by: i64,
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
    #[sea_orm(belongs_to = "super::users::Entity", from = "Column::RecordedBy", to = "super::users::Column::Id")]
    RecordedBy,
}

impl Related<super::seniors::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Senior.def()
    }
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RecordedBy.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
