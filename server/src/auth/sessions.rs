//! Logging in and out: opaque session tokens stored hashed, device API keys, and the
//! failed-login limit shared by every instance through the database.

use chrono::{DateTime, Duration, Utc};
use entity::{devices, login_attempts, sessions, user_communities, users};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Set,
};

use super::{Caller, CommunityId, Role, UserId};
use crate::crypto;
use crate::error::ApiError;
use crate::state::AppState;

/// Refresh `last_seen_at` at most this often, so reads do not turn into writes.
const TOUCH_EVERY: Duration = Duration::minutes(5);

/// A hash checked when the username is unknown, so timing does not reveal which
/// usernames exist.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| crypto::hash_password("not a real password").unwrap_or_default())
}

#[derive(Debug)]
pub struct NewSession {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: users::Model,
    pub communities: Vec<i64>,
}

/// Looks a presented token up: a live user session, else an active device key.
pub async fn resolve(state: &AppState, token: &str) -> Result<Option<Caller>, ApiError> {
    let db = &state.db;
    let now = state.clock.now();
    let hash = crypto::token_hash(token);
    let found = sessions::Entity::find()
        .filter(sessions::Column::TokenHash.eq(hash.clone()))
        .filter(sessions::Column::ExpiresAt.gt(now))
        .find_also_related(users::Entity)
        .one(db)
        .await?;
    if let Some((session, Some(user))) = found {
        if !user.is_active {
            return Ok(None);
        }
        let role: Role = user.role.parse().map_err(|e: String| ApiError::Internal(anyhow::anyhow!(e)))?;
        if now - session.last_seen_at > TOUCH_EVERY {
            sessions::Entity::update_many()
                .col_expr(sessions::Column::LastSeenAt, Expr::value(now))
                .filter(sessions::Column::Id.eq(session.id))
                .exec(db)
                .await?;
        }
        let communities = communities_of(db, user.id).await?;
        return Ok(Some(Caller {
            role,
            user_id: Some(UserId(user.id)),
            device_id: None,
            communities: communities.into_iter().map(CommunityId).collect(),
            session_id: Some(session.id),
            request_id: None,
        }));
    }
    let device = devices::Entity::find()
        .filter(devices::Column::ApiKeyHash.eq(hash))
        .filter(devices::Column::RevokedAt.is_null())
        .one(db)
        .await?;
    Ok(device.map(|d| Caller {
        role: Role::Device,
        user_id: None,
        device_id: Some(d.id),
        communities: Vec::new(),
        session_id: None,
        request_id: None,
    }))
}

pub async fn communities_of(db: &impl ConnectionTrait, user_id: i64) -> Result<Vec<i64>, ApiError> {
    let rows = user_communities::Entity::find()
        .filter(user_communities::Column::UserId.eq(user_id))
        .order_by_asc(user_communities::Column::CommunityId)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| r.community_id).collect())
}

/// Checks the password and opens a session. Failed attempts are counted per username
/// across all instances; past the limit the answer is 429 with the wait in seconds,
/// whether or not the password is right.
pub async fn login(
    state: &AppState,
    username: &str,
    password: &str,
    user_agent: Option<String>,
) -> Result<NewSession, ApiError> {
    let db = &state.db;
    let settings = &state.settings;
    let now = state.clock.now();
    let window = Duration::minutes(settings.login_window_minutes);
    let since = now - window;

    let failures = login_attempts::Entity::find()
        .filter(login_attempts::Column::Username.eq(username))
        .filter(login_attempts::Column::Succeeded.eq(false))
        .filter(login_attempts::Column::AttemptedAt.gt(since))
        .order_by_asc(login_attempts::Column::AttemptedAt)
        .limit(u64::from(settings.login_max_failures))
        .all(db)
        .await?;
    if failures.len() as u64 >= u64::from(settings.login_max_failures) {
        let oldest = failures.first().map_or(now, |f| f.attempted_at);
        let wait = (oldest + window - now).num_seconds().max(1);
        return Err(ApiError::TooManyRequests {
            retry_after_secs: wait as u64,
            detail: format!(
                "{} failed logins within {} minutes; try again in {} minutes.",
                settings.login_max_failures,
                settings.login_window_minutes,
                (wait + 59) / 60
            ),
        });
    }

    let user = users::Entity::find().filter(users::Column::Username.eq(username)).one(db).await?;
    let password_ok = {
        let phc = user.as_ref().map_or(dummy_hash(), |u| u.password_hash.as_str()).to_owned();
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || crypto::verify_password(&password, &phc))
            .await
            .map_err(|e| ApiError::Internal(e.into()))?
    };
    let user = match user {
        Some(u) if password_ok && u.is_active => u,
        _ => {
            login_attempts::ActiveModel {
                username: Set(username.to_owned()),
                succeeded: Set(false),
                attempted_at: Set(now),
                ..Default::default()
            }
            .insert(db)
            .await?;
            tracing::info!("login refused");
            return Err(ApiError::Unauthenticated);
        }
    };

    // A successful login clears the failure count for this username.
    login_attempts::Entity::delete_many().filter(login_attempts::Column::Username.eq(username)).exec(db).await?;

    let token = crypto::new_token();
    let expires_at = now + Duration::minutes(settings.session_ttl_minutes);
    sessions::ActiveModel {
        token_hash: Set(crypto::token_hash(&token)),
        user_id: Set(user.id),
        created_at: Set(now),
        expires_at: Set(expires_at),
        last_seen_at: Set(now),
        user_agent: Set(user_agent.map(|ua| ua.chars().take(200).collect())),
        ..Default::default()
    }
    .insert(db)
    .await?;
    tracing::info!(user.id = user.id, "logged in");
    let communities = communities_of(db, user.id).await?;
    Ok(NewSession { token, expires_at, user, communities })
}

pub async fn logout(state: &AppState, caller: &Caller) -> Result<(), ApiError> {
    if let Some(id) = caller.session_id {
        crate::push::forget_session(&state.db, id).await?;
        sessions::Entity::delete_by_id(id).exec(&state.db).await?;
    }
    Ok(())
}

/// Changes a password and revokes every session of that user.
pub async fn change_password(state: &AppState, user_id: UserId, current: &str, new: &str) -> Result<(), ApiError> {
    let db = &state.db;
    let user = users::Entity::find_by_id(user_id.0).one(db).await?.ok_or(ApiError::NotFound)?;
    let (current, phc) = (current.to_owned(), user.password_hash.clone());
    let ok = tokio::task::spawn_blocking(move || crypto::verify_password(&current, &phc))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    if !ok {
        return Err(ApiError::field("current_password", "mismatch", "is not your current password"));
    }
    let new = new.to_owned();
    let hash = tokio::task::spawn_blocking(move || crypto::hash_password(&new))
        .await
        .map_err(|e| ApiError::Internal(e.into()))??;
    let now = state.clock.now();
    let txn = crate::db::begin_write(db).await?;
    users::Entity::update_many()
        .col_expr(users::Column::PasswordHash, Expr::value(hash))
        .col_expr(users::Column::PasswordChangedAt, Expr::value(now))
        .col_expr(users::Column::UpdatedAt, Expr::value(now))
        .filter(users::Column::Id.eq(user_id.0))
        .exec(&txn)
        .await?;
    sessions::Entity::delete_many().filter(sessions::Column::UserId.eq(user_id.0)).exec(&txn).await?;
    txn.commit().await?;
    tracing::info!(user.id = user_id.0, "password changed; sessions revoked");
    Ok(())
}

/// Removes expired sessions and old login attempts; returns how many rows went.
pub async fn sweep_expired(db: &impl ConnectionTrait, now: DateTime<Utc>, window: Duration) -> Result<u64, ApiError> {
    let a = sessions::Entity::delete_many().filter(sessions::Column::ExpiresAt.lte(now)).exec(db).await?;
    let b = login_attempts::Entity::delete_many()
        .filter(login_attempts::Column::AttemptedAt.lte(now - window))
        .exec(db)
        .await?;
    Ok(a.rows_affected + b.rows_affected)
}

pub async fn count_sessions(db: &impl ConnectionTrait, user_id: i64) -> Result<u64, ApiError> {
    Ok(sessions::Entity::find().filter(sessions::Column::UserId.eq(user_id)).count(db).await?)
}
