//! Family links: a signed, expiring, single-use URL through which a family member
//! answers a survey on a phone without logging in.
//!
//! The token is 32 random bytes (base64url), a `~` and a signature, an HMAC of the
//! random part under the server's key, so a made-up token is refused before any
//! lookup. The database keeps only the SHA-256 of the whole token. Answering through
//! the link marks it used in the same transaction as the answer, by a conditional
//! update: it works once.

use chrono::{DateTime, Duration, Utc};
use entity::{seniors, survey_links, surveys};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::Serialize;
use utoipa::ToSchema;

use super::SurveyStatus;
use super::template::Template;
use crate::auth::{Caller, CommunityId};
use crate::error::ApiError;
use crate::state::AppState;

const SIGNATURE_HEX: usize = 32;

fn signature(state: &AppState, random: &str) -> String {
    let full = state.data_key.lookup_hash(&format!("survey-link:{random}"));
    full[..SIGNATURE_HEX.min(full.len())].to_owned()
}

fn signed(state: &AppState, token: &str) -> bool {
    match token.rsplit_once('~') {
        Some((random, sig)) => !random.is_empty() && signature(state, random) == sig,
        None => false,
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FamilyLink {
    pub survey_id: i64,
    /// The secret: shown once, never stored.
    pub token: String,
    /// The page to open on a phone (relative to the server's address).
    pub path: String,
    pub expires_at: DateTime<Utc>,
}

/// Makes a family link for a pending survey in the caller's communities.
pub async fn create(state: &AppState, caller: &Caller, survey_id: i64) -> Result<FamilyLink, ApiError> {
    let survey = surveys::Entity::find_by_id(survey_id).one(&state.db).await?.ok_or(ApiError::NotFound)?;
    caller.scope(CommunityId(survey.community_id))?;
    if survey.status != SurveyStatus::Pending.as_str() {
        let mut extra = serde_json::Map::new();
        extra.insert("current_status".into(), survey.status.clone().into());
        return Err(ApiError::Conflict {
            code: "survey-not-pending",
            detail: format!("The survey is {}", survey.status),
            extra: Some(extra),
        });
    }
    let now = state.clock.now();
    let random = crate::crypto::new_token();
    let token = format!("{random}~{}", signature(state, &random));
    let expires_at = (now + Duration::hours(state.settings.surveys.family_link_hours)).min(survey.expires_at);
    let txn = crate::db::begin_write(&state.db).await?;
    survey_links::ActiveModel {
        survey_id: Set(survey.id),
        token_hash: Set(crate::crypto::token_hash(&token)),
        created_by: Set(caller.user_id.map(|u| u.0)),
        created_at: Set(now),
        expires_at: Set(expires_at),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    crate::audit::record(
        &txn,
        &state.clock,
        caller,
        crate::audit::Entry::new("survey.family_link", "survey", Some(survey.id.to_string())),
    )
    .await?;
    txn.commit().await?;
    Ok(FamilyLink { survey_id: survey.id, path: format!("/s/{token}"), token, expires_at })
}

/// A link that may still be used: 404 for an unknown or forged token, 410 for a used
/// or expired one.
pub async fn usable(state: &AppState, token: &str) -> Result<(survey_links::Model, surveys::Model), ApiError> {
    if !signed(state, token) {
        return Err(ApiError::NotFound);
    }
    let link = survey_links::Entity::find()
        .filter(survey_links::Column::TokenHash.eq(crate::crypto::token_hash(token)))
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    refuse_spent(&link, state.clock.now())?;
    let survey = surveys::Entity::find_by_id(link.survey_id).one(&state.db).await?.ok_or(ApiError::NotFound)?;
    Ok((link, survey))
}

fn refuse_spent(link: &survey_links::Model, now: DateTime<Utc>) -> Result<(), ApiError> {
    if link.used_at.is_some() {
        return Err(ApiError::Gone { code: "link-used", detail: "This link has already been used".into() });
    }
    if link.expires_at <= now {
        return Err(ApiError::Gone { code: "link-expired", detail: "This link has expired".into() });
    }
    Ok(())
}

/// Marks the link used, inside the answer's transaction; a link used meanwhile is 410.
pub async fn consume(db: &impl ConnectionTrait, link_id: i64, now: DateTime<Utc>) -> Result<(), ApiError> {
    let done = survey_links::Entity::update_many()
        .col_expr(survey_links::Column::UsedAt, Expr::value(Some(now)))
        .filter(survey_links::Column::Id.eq(link_id))
        .filter(survey_links::Column::UsedAt.is_null())
        .filter(survey_links::Column::ExpiresAt.gt(now))
        .exec(db)
        .await?;
    if done.rows_affected == 1 {
        return Ok(());
    }
    let link = survey_links::Entity::find_by_id(link_id).one(db).await?.ok_or(ApiError::NotFound)?;
    refuse_spent(&link, now)?;
    Err(ApiError::Gone { code: "link-used", detail: "This link has already been used".into() })
}

/// What the family sees: the questions, and the senior's family name only.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicSurvey {
    pub kind: String,
    /// The senior's surname followed by a mask (`赵**`): enough to know whom it is about.
    pub senior: String,
    pub expires_at: DateTime<Utc>,
    pub template: Template,
}

pub async fn public_view(state: &AppState, token: &str) -> Result<PublicSurvey, ApiError> {
    let (link, survey) = usable(state, token).await?;
    if survey.status != SurveyStatus::Pending.as_str() {
        return Err(ApiError::Gone { code: "survey-closed", detail: format!("The survey is {}", survey.status) });
    }
    let name = seniors::Entity::find_by_id(survey.senior_id).one(&state.db).await?.map(|s| s.name).unwrap_or_default();
    let mut chars = name.chars();
    let senior = match chars.next() {
        Some(first) => format!("{first}{}", "*".repeat(chars.count().max(1))),
        None => String::new(),
    };
    Ok(PublicSurvey {
        kind: survey.kind.clone(),
        senior,
        expires_at: link.expires_at,
        template: super::service::template(&state.db, survey.template_id).await?,
    })
}
