//! `coverage_communities`: a month's coverage figures for one community, with the
//! workforce, time-bank and subsidy figures that belong to a community, not a cell.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "coverage_communities")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(column_type = "Text")]
    pub month: String,
    pub community_id: i64,
    pub seniors_total: i64,
    #[sea_orm(column_type = "JsonBinary")]
    pub metrics: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
