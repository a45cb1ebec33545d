//! `responder_communities`: the communities a responder serves.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "responder_communities")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub responder_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub community_id: i64,
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
    #[sea_orm(
        belongs_to = "super::communities::Entity",
        from = "Column::CommunityId",
        to = "super::communities::Column::Id"
    )]
    Community,
}

impl Related<super::responders::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Responder.def()
    }
}

impl Related<super::communities::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Community.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
