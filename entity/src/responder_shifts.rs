//! `responder_shifts`: weekly shifts; `weekday` 1 = Monday .. 7, times are Asia/Shanghai wall clock.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "responder_shifts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub responder_id: i64,
    pub weekday: i16,
    pub starts_at: Time,
    pub ends_at: Time,
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
