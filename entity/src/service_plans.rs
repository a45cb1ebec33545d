//! `service_plans`: recurring services; one task per service date is generated from each active plan.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "service_plans")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub senior_id: i64,
    #[sea_orm(column_type = "Text")]
    pub kind: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub weekdays: Json,
    pub window_start: Time,
    pub window_end: Time,
    pub starts_on: Date,
    pub ends_on: Option<Date>,
    pub fee_fen: i64,
    pub price_fen: i64,
    pub station_id: Option<i64>,
    #[sea_orm(column_type = "JsonBinary")]
    pub details: Json,
    #[sea_orm(column_type = "Text")]
    pub status: String,
    pub suspended_from: Option<Date>,
    pub suspended_until: Option<Date>,
    pub created_by: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    #[sea_orm(default_value = 1)]
    pub version: i32,
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
    #[sea_orm(belongs_to = "super::stations::Entity", from = "Column::StationId", to = "super::stations::Column::Id")]
    Station,
}

impl Related<super::seniors::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Senior.def()
    }
}

impl Related<super::stations::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Station.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
