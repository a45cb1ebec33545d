//! `timebank_accounts`: one per volunteer, per senior who receives redeemed care,
//! and the district fund (the issuer). The cached balances are kept by conditional
//! updates in the same transaction as the ledger entries they summarise.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "timebank_accounts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `volunteer`, `senior` or `fund`.
    #[sea_orm(column_type = "Text")]
    pub kind: String,
    pub owner_user_id: Option<i64>,
    pub senior_id: Option<i64>,
    pub community_id: Option<i64>,
    pub balance_minutes: i64,
    pub pending_minutes: i64,
    pub reserved_minutes: i64,
    pub earned_day: Option<Date>,
    pub earned_day_minutes: i64,
    pub earned_year: Option<i32>,
    pub earned_year_minutes: i64,
    pub birth_date: Option<Date>,
    pub approved_by: Option<i64>,
    pub approved_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
