//! `responder_absences`: leave and sickness (`reason`: `leave`, `sick`, `other`).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "responder_absences")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub responder_id: i64,
    pub starts_on: Date,
    pub ends_on: Date,
    #[sea_orm(column_type = "Text")]
    pub reason: String,
    #[sea_orm(column_type = "Text")]
    pub note: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::responders::Entity",
        from = "Column::ResponderId",
        to = "super::responders::Column::Id",
        on_delete = "Cascade"
    )]
    Responder,
}

impl Related<super::responders::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Responder.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
