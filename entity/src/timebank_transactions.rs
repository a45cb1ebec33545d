//! `timebank_transactions`: one posting of the ledger; append-only (the database
//! refuses UPDATE and DELETE). `(kind, business_key)` is unique: a replay finds the
//! original.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "timebank_transactions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `earn`, `redeem`, `transfer`, `donation`, `grant` or `reversal`.
    #[sea_orm(column_type = "Text")]
    pub kind: String,
    #[sea_orm(column_type = "Text")]
    pub business_key: String,
    /// The amount moved (the sum of the positive entries).
    pub minutes: i64,
    pub reverses_id: Option<i64>,
    pub task_id: Option<i64>,
    pub booking_id: Option<i64>,
    pub created_by: Option<i64>,
    pub approved_by: Option<i64>,
    #[sea_orm(column_type = "Text")]
    pub reason: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub details: Json,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
