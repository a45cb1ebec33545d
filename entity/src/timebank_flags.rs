//! `timebank_flags`: patterns for a worker to review (never a block): a visit
//! confirmed by the volunteer who earned it, reciprocal service between two
//! volunteers' relatives.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "timebank_flags")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `self_confirmed` or `reciprocal`.
    #[sea_orm(column_type = "Text")]
    pub kind: String,
    /// What the flag is about (`task:12`, `pair:3:8`); unique per kind.
    #[sea_orm(column_type = "Text")]
    pub subject_key: String,
    pub account_id: Option<i64>,
    pub task_id: Option<i64>,
    pub community_id: Option<i64>,
    #[sea_orm(column_type = "JsonBinary")]
    pub details: Json,
    /// `open`, `dismissed` or `upheld`.
    #[sea_orm(column_type = "Text")]
    pub status: String,
    pub created_at: DateTimeUtc,
    pub reviewed_by: Option<i64>,
    pub reviewed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
