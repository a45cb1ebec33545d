//! `communities`: the district's communities; `boundary_geojson` is a GeoJSON Polygon or MultiPolygon.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "communities")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(column_type = "Text")]
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub street: String,
    #[sea_orm(column_type = "Text")]
    pub district: String,
    #[sea_orm(column_type = "Text")]
    pub boundary_geojson: String,
    pub cell_resolution: i16,
    pub head_user_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "super::users::Entity", from = "Column::HeadUserId", to = "super::users::Column::Id")]
    HeadUser,
    #[sea_orm(has_many = "super::seniors::Entity")]
    Seniors,
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::HeadUser.def()
    }
}

impl Related<super::seniors::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Seniors.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
