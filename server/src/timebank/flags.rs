//! Patterns for a worker to review — never a block: a visit confirmed by the
//! volunteer who earned it, and two volunteers serving each other's registered
//! relatives far more than volunteers and families usually meet in the community.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{
    responders, tasks, timebank_flags as flags, timebank_relatives as relatives, timebank_transactions as transactions,
};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use validator::Validate;

use super::TxKind;
use crate::audit;
use crate::auth::{Caller, CommunityId, Role};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FlagView {
    pub id: i64,
    /// `self_confirmed` or `reciprocal`.
    pub kind: String,
    pub subject_key: String,
    pub account_id: Option<i64>,
    pub task_id: Option<i64>,
    pub community_id: Option<i64>,
    #[schema(value_type = Object)]
    pub details: Value,
    /// `open`, `dismissed` or `upheld`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub reviewed_by: Option<i64>,
    pub reviewed_at: Option<DateTime<Utc>>,
}

impl From<flags::Model> for FlagView {
    fn from(f: flags::Model) -> Self {
        Self {
            id: f.id,
            kind: f.kind,
            subject_key: f.subject_key,
            account_id: f.account_id,
            task_id: f.task_id,
            community_id: f.community_id,
            details: f.details,
            status: f.status,
            created_at: f.created_at,
            reviewed_by: f.reviewed_by,
            reviewed_at: f.reviewed_at,
        }
    }
}

async fn raise(
    db: &impl ConnectionTrait,
    kind: &str,
    subject: String,
    task_id: Option<i64>,
    community_id: Option<i64>,
    details: Value,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    let n = flags::Entity::insert(flags::ActiveModel {
        kind: Set(kind.to_owned()),
        subject_key: Set(subject),
        task_id: Set(task_id),
        community_id: Set(community_id),
        details: Set(details),
        status: Set("open".into()),
        created_at: Set(now),
        ..Default::default()
    })
    .on_conflict(OnConflict::columns([flags::Column::Kind, flags::Column::SubjectKey]).do_nothing().to_owned())
    .exec_without_returning(db)
    .await?;
    Ok(n == 1)
}

/// The responder who did the visit also confirmed it.
pub async fn raise_self_confirmed(
    db: &impl ConnectionTrait,
    task: &tasks::Model,
    confirmer: Option<i64>,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    raise(
        db,
        "self_confirmed",
        format!("task:{}", task.id),
        Some(task.id),
        Some(task.community_id),
        json!({"confirmed_by": confirmer, "responder_id": task.assignee_id}),
        now,
    )
    .await?;
    Ok(())
}

/// Looks for reciprocal service among earned visits: volunteer A serving B's
/// approved relatives and B serving A's, each at least `reciprocal_min_visits`
/// times and together `reciprocal_factor` times more than the community's mean per
/// volunteer-and-family pair. Returns how many new flags were raised.
pub async fn scan_reciprocal(state: &AppState) -> Result<usize, ApiError> {
    let db = &state.db;
    let now = state.clock.now();
    let earned: Vec<i64> = transactions::Entity::find()
        .filter(transactions::Column::Kind.eq(TxKind::Earn.as_str()))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|t| t.task_id)
        .collect();
    let reversed: Vec<i64> = transactions::Entity::find()
        .filter(transactions::Column::Kind.eq(TxKind::Reversal.as_str()))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|t| t.task_id)
        .collect();
    let mut visits: Vec<tasks::Model> = Vec::new();
    for chunk in earned.chunks(1000) {
        visits.extend(tasks::Entity::find().filter(tasks::Column::Id.is_in(chunk.iter().copied())).all(db).await?);
    }
    visits.retain(|t| !reversed.contains(&t.id));
    let user_of: HashMap<i64, i64> =
        responders::Entity::find().all(db).await?.into_iter().map(|r| (r.id, r.user_id)).collect();
    let mut family_of: HashMap<i64, Vec<i64>> = HashMap::new();
    for link in relatives::Entity::find().filter(relatives::Column::Status.eq("approved")).all(db).await? {
        family_of.entry(link.senior_id).or_default().push(link.volunteer_user_id);
    }
    // (community, server, family owner) -> visits
    let mut pairs: HashMap<(i64, i64, i64), i64> = HashMap::new();
    for t in &visits {
        let Some(server) = t.assignee_id.and_then(|a| user_of.get(&a)).copied() else { continue };
        for owner in family_of.get(&t.senior_id).into_iter().flatten() {
            if *owner != server {
                *pairs.entry((t.community_id, server, *owner)).or_default() += 1;
            }
        }
    }
    let rules = &state.timebank.abuse;
    let mut raised = 0;
    for (&(community, a, b), &ab) in &pairs {
        if a > b {
            continue;
        }
        let ba = pairs.get(&(community, b, a)).copied().unwrap_or(0);
        if ab.min(ba) < rules.reciprocal_min_visits {
            continue;
        }
        let others: Vec<i64> = pairs
            .iter()
            .filter(|((c, x, y), _)| *c == community && !((*x == a && *y == b) || (*x == b && *y == a)))
            .map(|(_, n)| *n)
            .collect();
        let mean = if others.is_empty() { 1.0 } else { others.iter().sum::<i64>() as f64 / others.len() as f64 };
        let per_pair = (ab + ba) as f64 / 2.0;
        if per_pair < rules.reciprocal_factor * mean {
            continue;
        }
        let details = json!({"volunteers": [a, b], "visits": {"a_to_b": ab, "b_to_a": ba}, "community_mean": mean});
        if raise(db, "reciprocal", format!("pair:{community}:{a}:{b}"), None, Some(community), details, now).await? {
            raised += 1;
        }
    }
    Ok(raised)
}

/// Open (or all) flags of the caller's communities, newest first.
pub async fn list(db: &impl ConnectionTrait, caller: &Caller, status: Option<&str>) -> Result<Vec<FlagView>, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker])?;
    let mut q = flags::Entity::find().order_by_desc(flags::Column::Id);
    if let Some(s) = status {
        q = q.filter(flags::Column::Status.eq(s));
    }
    if let Some(communities) = caller.community_filter() {
        q = q.filter(flags::Column::CommunityId.is_in(communities));
    }
    Ok(q.all(db).await?.into_iter().map(FlagView::from).collect())
}

/// The body of `POST /api/v1/timebank/flags/{id}/review`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct ReviewInput {
    /// `true`: the pattern is abuse (upheld); `false`: dismissed.
    pub upheld: bool,
    #[validate(length(min = 2, max = 500, message = "state a reason of 2 to 500 characters"))]
    #[schema(min_length = 2, max_length = 500)]
    pub reason: String,
}

pub async fn review(state: &AppState, caller: &Caller, id: i64, input: ReviewInput) -> Result<FlagView, ApiError> {
    caller.allow(&[Role::Admin, Role::Worker])?;
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let flag = flags::Entity::find_by_id(id).one(&txn).await?.ok_or(ApiError::NotFound)?;
    if let Some(c) = flag.community_id {
        caller.scope(CommunityId(c))?;
    }
    let done = flags::Entity::update_many()
        .col_expr(flags::Column::Status, Expr::value(if input.upheld { "upheld" } else { "dismissed" }))
        .col_expr(flags::Column::ReviewedBy, Expr::value(caller.user_id.map(|u| u.0)))
        .col_expr(flags::Column::ReviewedAt, Expr::value(Some(now)))
        .filter(flags::Column::Id.eq(id))
        .filter(flags::Column::Status.eq("open"))
        .exec(&txn)
        .await?;
    if done.rows_affected != 1 {
        return Err(ApiError::conflict("already-reviewed", format!("This flag is already {}", flag.status)));
    }
    audit::record(
        &txn,
        &state.clock,
        caller,
        audit::Entry::new("timebank.flag.review", "timebank_flag", Some(id.to_string())).reason(input.reason.trim()),
    )
    .await?;
    let row = flags::Entity::find_by_id(id).one(&txn).await?.ok_or(ApiError::NotFound)?;
    txn.commit().await?;
    Ok(row.into())
}
