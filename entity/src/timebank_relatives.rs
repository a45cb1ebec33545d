//! `timebank_relatives`: a senior a volunteer may spend credits for (`self_care`,
//! `parent`, `spouse`, `parent_in_law`), usable once a worker approves it.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "timebank_relatives")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub volunteer_user_id: i64,
    pub senior_id: i64,
    #[sea_orm(column_type = "Text")]
    pub relation: String,
    /// `pending`, `approved` or `rejected`.
    #[sea_orm(column_type = "Text")]
    pub status: String,
    pub requested_by: Option<i64>,
    pub created_at: DateTimeUtc,
    pub approved_by: Option<i64>,
    pub approved_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
