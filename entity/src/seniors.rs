//! `seniors`: the senior registry.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "seniors")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub community_id: i64,
    #[sea_orm(column_type = "Text")]
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub gender: String,
    pub birth_date: Date,
    #[sea_orm(column_type = "Text")]
    pub id_number_enc: String,
    #[sea_orm(column_type = "Text", unique)]
    pub id_number_hash: String,
    #[sea_orm(column_type = "Text")]
    pub id_number_masked: String,
    #[sea_orm(column_type = "Text")]
    pub phone: String,
    #[sea_orm(column_type = "Text")]
    pub address: String,
    pub latitude: f64,
    pub longitude: f64,
    pub cell: i64,
    pub outside_boundary: bool,
    #[sea_orm(column_type = "Text")]
    pub living_arrangement: String,
    #[sea_orm(column_type = "Text")]
    pub economic_status: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub medical_notes: Json,
    #[sea_orm(column_type = "Text")]
    pub status: String,
    pub status_since: Date,
    #[sea_orm(column_type = "Text")]
    pub tier: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub flags: Json,
    #[sea_orm(column_type = "Text")]
    pub tier_rules_version: Option<String>,
    pub has_bell: bool,
    pub reassessment_due_on: Option<Date>,
    pub created_by: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    #[sea_orm(default_value = 1)]
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::communities::Entity",
        from = "Column::CommunityId",
        to = "super::communities::Column::Id"
    )]
    Community,
    #[sea_orm(belongs_to = "super::users::Entity", from = "Column::CreatedBy", to = "super::users::Column::Id")]
    CreatedBy,
    #[sea_orm(has_many = "super::contacts::Entity")]
    Contacts,
    #[sea_orm(has_many = "super::consents::Entity")]
    Consents,
    #[sea_orm(has_many = "super::assessments::Entity")]
    Assessments,
    #[sea_orm(has_many = "super::tier_changes::Entity")]
    TierChanges,
    #[sea_orm(has_many = "super::tasks::Entity")]
    Tasks,
}

impl Related<super::communities::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Community.def()
    }
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::CreatedBy.def()
    }
}

impl Related<super::contacts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Contacts.def()
    }
}

impl Related<super::consents::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Consents.def()
    }
}

impl Related<super::assessments::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Assessments.def()
    }
}

impl Related<super::tier_changes::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::TierChanges.def()
    }
}

impl Related<super::tasks::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Tasks.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
