//! `coverage_months`: the refresh watermark of the coverage roll-ups, one row a month.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "coverage_months")]
pub struct Model {
    /// `YYYY-MM` in the district's time zone.
    #[sea_orm(primary_key, auto_increment = false, column_type = "Text")]
    pub month: String,
    /// The moment the figures describe: the refresh time, or the month's end once past.
    pub as_of: DateTimeUtc,
    pub refreshed_at: DateTimeUtc,
    /// Refreshed after the month ended: its figures no longer change.
    pub is_final: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
