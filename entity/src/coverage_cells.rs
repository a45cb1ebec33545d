//! `coverage_cells`: a month's coverage figures for one H3 cell (resolution 7, 8 or
//! 9) and one community; `metrics` holds the counters and the alarm times.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "coverage_cells")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(column_type = "Text")]
    pub month: String,
    pub resolution: i16,
    pub cell: i64,
    pub community_id: i64,
    pub seniors_total: i64,
    #[sea_orm(column_type = "JsonBinary")]
    pub metrics: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
