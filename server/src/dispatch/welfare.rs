//! Welfare checks: a meal courier found nobody at home. The check calls the senior,
//! then each contact in call order, then alerts the community worker, one step per
//! `welfare_step_secs`, each step recorded as a task event. A worker who reaches
//! someone closes the check, which stops the chain.

use chrono::{DateTime, Duration, Utc};
use entity::{contacts, tasks};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use validator::Validate;

use super::kinds::{TaskKind, TaskStatus};
use super::notify::{self, SmsTo};
use super::tasks::{Actor, Note, event, illegal, kind_of, status_of};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// Opens a welfare check for a failed delivery and takes its first step at once.
pub async fn open(
    state: &AppState,
    txn: &impl ConnectionTrait,
    failed: &tasks::Model,
    now: DateTime<Utc>,
) -> Result<tasks::Model, ApiError> {
    let check = tasks::ActiveModel {
        service_date: Set(failed.service_date),
        priority: Set(1),
        details: Set(json!({"parent_task_id": failed.id, "step": 0})),
        ..super::tasks::new_row(TaskKind::WelfareCheck, failed.senior_id, failed.community_id, now)
    }
    .insert(txn)
    .await?;
    event(
        txn,
        check.id,
        "created",
        None,
        Some(TaskStatus::Created),
        Actor::SYSTEM,
        Note::details(json!({"parent_task_id": failed.id, "reason": "not_home"})),
        now,
    )
    .await?;
    event(
        txn,
        failed.id,
        "welfare_check_opened",
        None,
        None,
        Actor::SYSTEM,
        Note::details(json!({"task_id": check.id})),
        now,
    )
    .await?;
    step(state, txn, &check, now).await
}

/// Takes the next step of a welfare check and schedules the one after.
pub async fn step(
    state: &AppState,
    txn: &impl ConnectionTrait,
    check: &tasks::Model,
    now: DateTime<Utc>,
) -> Result<tasks::Model, ApiError> {
    if status_of(check).is_terminal() {
        return Ok(check.clone());
    }
    let n = check.details["step"].as_u64().unwrap_or(0) as usize;
    let family = contacts::Entity::find()
        .filter(contacts::Column::SeniorId.eq(check.senior_id))
        .order_by_asc(contacts::Column::CallOrder)
        .order_by_asc(contacts::Column::Id)
        .all(txn)
        .await?;
    let wait = Duration::seconds(state.settings.dispatch.welfare_step_secs);
    let (action, details, next) = if n == 0 {
        notify::sms(
            txn,
            SmsTo::Senior(check.senior_id),
            "welfare_senior",
            "【邻里】送餐员刚才没有敲开您的门，社区将与您联系，请回电或开门。",
            check.community_id,
            now,
        )
        .await?;
        ("call_senior", json!({"senior_id": check.senior_id}), Some(now + wait))
    } else if let Some(c) = family.get(n - 1) {
        notify::sms(
            txn,
            SmsTo::Contact(c.id),
            "welfare_contact",
            "【邻里】今天的送餐未能送达您的家人，请尽快联系老人或社区。",
            check.community_id,
            now,
        )
        .await?;
        ("call_contact", json!({"contact_id": c.id, "call_order": c.call_order}), Some(now + wait))
    } else {
        notify::console(txn, check.community_id, "welfare_check", json!({"task_id": check.id}), now).await?;
        ("alert_worker", json!({"community_id": check.community_id}), None)
    };
    let mut details = details;
    details["step"] = json!(n);
    details["action"] = json!(action);
    event(txn, check.id, "welfare_step", None, None, Actor::SYSTEM, Note::details(details), now).await?;
    let mut row: tasks::ActiveModel = check.clone().into();
    let mut stored = check.details.clone();
    stored["step"] = json!(n + 1);
    row.details = Set(stored);
    row.next_deadline_at = Set(next);
    row.escalation_level = Set(if next.is_none() { 1 } else { 0 });
    row.updated_at = Set(now);
    row.version = Set(check.version + 1);
    let done = tasks::Entity::update_many()
        .set(row)
        .filter(tasks::Column::Id.eq(check.id))
        .filter(tasks::Column::Version.eq(check.version))
        .exec(txn)
        .await?;
    if done.rows_affected != 1 {
        return Err(ApiError::Conflict {
            code: "stale-version",
            detail: "The welfare check moved on".into(),
            extra: None,
        });
    }
    tasks::Entity::find_by_id(check.id).one(txn).await?.ok_or(ApiError::NotFound)
}

crate::registry::kinds::vocabulary!(
    /// How a welfare check ended.
    WelfareOutcome {
        /// The senior answered or opened the door.
        ReachedSenior = "reached_senior",
        /// A contact knows where the senior is.
        ReachedContact = "reached_contact",
        /// Someone went to the home.
        Visited = "visited",
        /// The senior needed help: handled as an emergency.
        NeedsHelp = "needs_help",
    }
);

/// The body of `POST /api/v1/tasks/{id}/resolve`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
pub struct ResolveInput {
    pub outcome: WelfareOutcome,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub notes: Option<String>,
}

/// A worker closes a welfare check; the chain stops.
pub async fn resolve(
    state: &AppState,
    caller: &Caller,
    id: i64,
    input: ResolveInput,
) -> Result<tasks::Model, ApiError> {
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let check = super::tasks::find_visible(&txn, caller, id).await?;
    if kind_of(&check) != TaskKind::WelfareCheck {
        return Err(illegal(&check, "be resolved as a welfare check"));
    }
    if status_of(&check).is_terminal() {
        return Err(illegal(&check, "be resolved again"));
    }
    let mut row: tasks::ActiveModel = check.clone().into();
    row.status = Set(TaskStatus::Completed.as_str().to_owned());
    row.outcome = Set(Some(input.outcome.as_str().to_owned()));
    row.notes = Set(input.notes.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()));
    row.completed_at = Set(Some(now));
    row.next_deadline_at = Set(None);
    row.updated_at = Set(now);
    row.version = Set(check.version + 1);
    let done = tasks::Entity::update_many()
        .set(row)
        .filter(tasks::Column::Id.eq(id))
        .filter(tasks::Column::Version.eq(check.version))
        .exec(&txn)
        .await?;
    if done.rows_affected != 1 {
        return Err(illegal(&check, "be resolved now; reload it"));
    }
    event(
        &txn,
        id,
        "resolved",
        Some(status_of(&check)),
        Some(TaskStatus::Completed),
        Actor::of(caller),
        Note::details(json!({"outcome": input.outcome.as_str()})),
        now,
    )
    .await?;
    txn.commit().await?;
    state.events.notify_waiters();
    tasks::Entity::find_by_id(id).one(&state.db).await?.ok_or(ApiError::NotFound)
}
