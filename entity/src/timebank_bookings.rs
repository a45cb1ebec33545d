//! `timebank_bookings`: a service paid in credits. Booking reserves the minutes,
//! the task's completion settles them, cancellation releases them.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "timebank_bookings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The paying account.
    pub account_id: i64,
    /// Who receives the care.
    pub senior_id: i64,
    pub task_id: Option<i64>,
    #[sea_orm(column_type = "Text")]
    pub kind: String,
    pub minutes: i64,
    /// `reserved`, `settled` or `released`.
    #[sea_orm(column_type = "Text")]
    pub status: String,
    #[sea_orm(column_type = "Text")]
    pub idempotency_key: String,
    pub transaction_id: Option<i64>,
    pub created_by: Option<i64>,
    pub created_at: DateTimeUtc,
    pub closed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
