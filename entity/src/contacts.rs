//! `contacts`: a senior's family and emergency contacts, called in `call_order`.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "contacts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub senior_id: i64,
    #[sea_orm(column_type = "Text")]
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub relation: String,
    #[sea_orm(column_type = "Text")]
    pub phone: String,
    pub call_order: i32,
    pub is_keyholder: bool,
    pub created_at: DateTimeUtc,
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
