//! `responders`: caregivers and volunteers who take tasks.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "responders")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub user_id: i64,
    #[sea_orm(column_type = "Text")]
    pub kind: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub skills: Json,
    #[sea_orm(column_type = "Text")]
    pub nursing_licence: Option<String>,
    pub licence_expires_on: Option<Date>,
    pub home_latitude: f64,
    pub home_longitude: f64,
    pub home_cell: i64,
    #[sea_orm(column_type = "Text")]
    pub travel_mode: String,
    pub max_concurrent: i32,
    pub on_duty: bool,
    pub last_latitude: Option<f64>,
    pub last_longitude: Option<f64>,
    pub last_accuracy_m: Option<f64>,
    pub last_cell: Option<i64>,
    pub last_seen_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    #[sea_orm(default_value = 1)]
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "super::users::Entity", from = "Column::UserId", to = "super::users::Column::Id")]
    User,
    #[sea_orm(has_many = "super::task_offers::Entity")]
    TaskOffers,
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl Related<super::task_offers::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::TaskOffers.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
