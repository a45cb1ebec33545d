//! `devices`: alarm devices (call bells) in seniors' homes, authenticated by API key.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "devices")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub senior_id: i64,
    #[sea_orm(column_type = "Text")]
    pub label: String,
    #[sea_orm(column_type = "Text", unique)]
    pub api_key_hash: String,
    #[sea_orm(column_type = "Text")]
    pub api_key_prefix: String,
    pub created_by: Option<i64>,
    pub created_at: DateTimeUtc,
    pub last_seen_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
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
    #[sea_orm(belongs_to = "super::users::Entity", from = "Column::CreatedBy", to = "super::users::Column::Id")]
    CreatedBy,
}

impl Related<super::seniors::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Senior.def()
    }
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::CreatedBy.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
