//! `tier_changes`: the history of a senior's care tier.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "tier_changes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub senior_id: i64,
    #[sea_orm(column_type = "Text")]
    pub from_tier: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub to_tier: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub flags: Json,
    #[sea_orm(column_type = "Text")]
    pub rule: String,
    #[sea_orm(column_type = "Text")]
    pub rules_version: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub reasons: Json,
    pub changed_at: DateTimeUtc,
    pub actor_user_id: Option<i64>,
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
