//! `outbox`: notifications waiting to be delivered (push, SSE, SMS, console).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(column_type = "Text")]
    pub channel: String,
    #[sea_orm(column_type = "Text")]
    pub kind: String,
    #[sea_orm(column_type = "Text")]
    pub topic: Option<String>,
    pub recipient_user_id: Option<i64>,
    pub community_id: Option<i64>,
    #[sea_orm(column_type = "JsonBinary")]
    pub payload: Json,
    #[sea_orm(column_type = "Text")]
    pub urgency: String,
    pub ttl_seconds: i32,
    #[sea_orm(column_type = "Text")]
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub lease_until: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text")]
    pub leased_by: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
    /// Push subscriptions this row already reached (retries skip them).
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub delivered_to: Option<Json>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "super::users::Entity", from = "Column::RecipientUserId", to = "super::users::Column::Id")]
    RecipientUser,
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RecipientUser.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
