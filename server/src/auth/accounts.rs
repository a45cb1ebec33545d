//! User accounts: creation (API and CLI share it) and listing.

use chrono::Utc;
use entity::{communities, user_communities, users};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set, TransactionTrait,
};

use super::Role;
use crate::crypto;
use crate::error::{ApiError, FieldError};

/// A request to create a user, already checked for shape.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub password: String,
    pub role: Role,
    pub community_ids: Vec<i64>,
    pub phone: Option<String>,
}

pub fn validate_username(username: &str) -> Result<(), FieldError> {
    let ok_len = (3..=32).contains(&username.len());
    let ok_chars =
        username.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-'));
    if ok_len && ok_chars {
        Ok(())
    } else {
        Err(FieldError::new(
            "username",
            "format",
            "must be 3 to 32 characters: lowercase letters, digits, '.', '_' or '-'",
        ))
    }
}

pub fn validate_password(field: &str, password: &str) -> Result<(), FieldError> {
    if password.chars().count() < 8 {
        return Err(FieldError::new(field, "length", "must be at least 8 characters long"));
    }
    if password.len() > 256 {
        return Err(FieldError::new(field, "length", "must be at most 256 bytes long"));
    }
    Ok(())
}

pub async fn create_user(db: &DatabaseConnection, new: NewUser) -> Result<users::Model, ApiError> {
    let mut errors = Vec::new();
    if let Err(e) = validate_username(&new.username) {
        errors.push(e);
    }
    if let Err(e) = validate_password("password", &new.password) {
        errors.push(e);
    }
    if new.role == Role::Device {
        errors.push(FieldError::new("role", "invalid", "devices are registered with POST /api/v1/devices"));
    }
    if new.role == Role::Worker && new.community_ids.is_empty() {
        errors.push(FieldError::new("community_ids", "required", "a worker needs at least one community"));
    }
    if !new.community_ids.is_empty() {
        let known = communities::Entity::find()
            .filter(communities::Column::Id.is_in(new.community_ids.clone()))
            .count(db)
            .await?;
        let mut wanted = new.community_ids.clone();
        wanted.sort_unstable();
        wanted.dedup();
        if known != wanted.len() as u64 {
            errors.push(FieldError::new("community_ids", "unknown", "contains a community that does not exist"));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    if let Some(existing) =
        users::Entity::find().filter(users::Column::Username.eq(new.username.as_str())).one(db).await?
    {
        return Err(username_taken(existing.id));
    }

    let password = new.password.clone();
    let hash = tokio::task::spawn_blocking(move || crypto::hash_password(&password))
        .await
        .map_err(|e| ApiError::Internal(e.into()))??;
    let now = Utc::now();
    let txn = db.begin().await?;
    let user = users::ActiveModel {
        username: Set(new.username.clone()),
        display_name: Set(new.display_name.clone()),
        password_hash: Set(hash),
        role: Set(new.role.as_str().to_owned()),
        phone: Set(new.phone.clone()),
        is_active: Set(true),
        password_changed_at: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| match ApiError::from(e) {
        ApiError::Conflict { .. } => username_taken(0),
        other => other,
    })?;
    for community_id in dedup(&new.community_ids) {
        user_communities::ActiveModel { user_id: Set(user.id), community_id: Set(community_id) }.insert(&txn).await?;
    }
    txn.commit().await?;
    tracing::info!(user.id = user.id, role = %new.role, "user created");
    Ok(user)
}

fn dedup(ids: &[i64]) -> Vec<i64> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    ids
}

fn username_taken(existing_id: i64) -> ApiError {
    let mut extra = serde_json::Map::new();
    if existing_id > 0 {
        extra.insert("existing_id".into(), existing_id.into());
    }
    extra.insert("field".into(), "username".into());
    ApiError::Conflict { code: "duplicate-username", detail: "This username is taken".into(), extra: Some(extra) }
}

pub async fn list_users(
    db: &impl ConnectionTrait,
    role: Option<Role>,
    page: u64,
    per_page: u64,
) -> Result<(Vec<(users::Model, Vec<i64>)>, u64), ApiError> {
    let mut query = users::Entity::find().order_by_asc(users::Column::Id);
    if let Some(role) = role {
        query = query.filter(users::Column::Role.eq(role.as_str()));
    }
    let paginator = query.paginate(db, per_page);
    let total = paginator.num_items().await?;
    let rows = paginator.fetch_page(page.saturating_sub(1)).await?;
    let ids: Vec<i64> = rows.iter().map(|u| u.id).collect();
    let links = user_communities::Entity::find()
        .filter(user_communities::Column::UserId.is_in(ids))
        .order_by_asc(user_communities::Column::CommunityId)
        .all(db)
        .await?;
    let out = rows
        .into_iter()
        .map(|u| {
            let cs = links.iter().filter(|l| l.user_id == u.id).map(|l| l.community_id).collect();
            (u, cs)
        })
        .collect();
    Ok((out, total))
}
