//! `task_offers`: a task offered to a responder, round by round.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "task_offers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub task_id: i64,
    pub responder_id: i64,
    #[sea_orm(column_type = "Text")]
    pub status: String,
    pub round: i16,
    pub distance_m: Option<f64>,
    pub offered_at: DateTimeUtc,
    pub responded_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::tasks::Entity",
        from = "Column::TaskId",
        to = "super::tasks::Column::Id",
        on_delete = "Cascade"
    )]
    Task,
    #[sea_orm(
        belongs_to = "super::responders::Entity",
        from = "Column::ResponderId",
        to = "super::responders::Column::Id"
    )]
    Responder,
}

impl Related<super::tasks::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Task.def()
    }
}

impl Related<super::responders::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Responder.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
